#include "../fingerprint.h"

#include <utility>

namespace fingerprint {

const std::vector<std::string>& allComponentIds() {
  static const std::vector<std::string> ids = {kMachineId, kSystemUuid, kBoardSerial, kBootDiskSerial,
                                               kMacs,      kCpuSignature, kModel};
  return ids;
}

const char* statusName(Status status) {
  switch (status) {
    case Status::Ok: return "ok";
    case Status::Absent: return "absent";
    case Status::Denied: return "denied";
    case Status::Junk: return "junk";
    case Status::Unsupported: return "unsupported";
    case Status::Error: return "error";
  }
  return "error";
}

Component Component::ok(std::string value, std::string detail) {
  Component c;
  c.status = Status::Ok;
  c.value = std::move(value);
  c.detail = std::move(detail);
  return c;
}

Component Component::okSet(std::vector<std::string> values, std::string detail) {
  Component c;
  c.status = Status::Ok;
  c.isSet = true;
  c.values = std::move(values);
  c.detail = std::move(detail);
  return c;
}

Component Component::make(Status status, std::string detail) {
  Component c;
  c.status = status;
  c.detail = std::move(detail);
  return c;
}

}  // namespace fingerprint
