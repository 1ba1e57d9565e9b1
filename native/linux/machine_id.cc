#include "../common/junk.h"
#include "readers.h"

namespace fingerprint {

Component readMachineId(const RootedFs& fs) {
  // machine-id(5): /etc/machine-id is the source; D-Bus keeps a copy on older systems.
  static const char* const paths[] = {"/etc/machine-id", "/var/lib/dbus/machine-id"};
  Component failure = Component::make(Status::Absent, "no /etc/machine-id or /var/lib/dbus/machine-id");
  bool haveFailure = false;
  for (const char* path : paths) {
    const FileRead file = fs.readLine(path);
    if (file.status == ReadStatus::Absent) continue;
    if (file.status != ReadStatus::Ok) {
      if (!haveFailure) {
        failure = Component::make(file.status == ReadStatus::Denied ? Status::Denied : Status::Error,
                                  std::string(path) + ": " + file.error);
        haveFailure = true;
      }
      continue;
    }
    const std::string id = normalizeHexId(file.text);
    if (id.empty() || id == "uninitialized") {
      // Empty in fresh containers; "uninitialized" until systemd's first boot completes.
      if (!haveFailure) failure = Component::make(Status::Absent, std::string(path) + " is " + (id.empty() ? "empty" : "uninitialized"));
      continue;
    }
    if (!isValidMachineId(id)) {
      failure = Component::make(Status::Junk, std::string(path) + " is not 32 hex digits or is all one digit");
      haveFailure = true;
      continue;
    }
    return Component::ok(id, path);
  }
  return failure;
}

}  // namespace fingerprint
