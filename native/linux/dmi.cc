#include "../common/junk.h"
#include "readers.h"

namespace fingerprint {

namespace {

const std::string kDmi = "/sys/class/dmi/id/";

// The kernel copies the SMBIOS tables once, at boot (drivers/firmware/dmi_scan.c), and
// /sys/class/dmi/id serves those copies until it stops: whether the directory exists and the
// 0444 names cannot change under a running process, so they are read once (readLineFixed).
// The 0400 UUID and serials are read every time: whether this process may read them changes
// when it drops or gains privileges.
std::string readName(const RootedFs& fs, const char* attribute) {
  const FileRead file = fs.readLineFixed(kDmi + attribute);
  return file.status == ReadStatus::Ok ? file.text : std::string();
}

Component fromFailedRead(const FileRead& file, const std::string& attribute) {
  switch (file.status) {
    case ReadStatus::Denied:
      // drivers/firmware/dmi-id.c creates the UUID and serials 0400: root only.
      return Component::make(Status::Denied, attribute + " is readable by root only");
    case ReadStatus::Absent:
      return Component::make(Status::Absent, attribute + " is not exposed");
    default:
      return Component::make(Status::Error, attribute + ": " + file.error);
  }
}

}  // namespace

DmiReading readDmiNames(const RootedFs& fs) {
  DmiReading dmi;
  dmi.present = fs.existsFixed(kDmi);
  if (!dmi.present) return dmi;
  dmi.names.sysVendor = readName(fs, "sys_vendor");
  dmi.names.productName = readName(fs, "product_name");
  dmi.names.boardVendor = readName(fs, "board_vendor");
  dmi.names.boardName = readName(fs, "board_name");
  dmi.names.biosVendor = readName(fs, "bios_vendor");
  dmi.names.chassisAssetTag = readName(fs, "chassis_asset_tag");
  return dmi;
}

Component readSystemUuid(const RootedFs& fs, const DmiReading& dmi) {
  if (!dmi.present) {
    // Xen guests without SMBIOS still have the domain UUID here (0444; a domain keeps its
    // UUID for its life, migrations included, hence readLineFixed).
    const FileRead xen = fs.readLineFixed("/sys/hypervisor/uuid");
    if (xen.status == ReadStatus::Ok) {
      const std::string uuid = normalizeHexId(xen.text);
      if (!isJunkUuid(uuid)) return Component::ok(uuid, "/sys/hypervisor/uuid");
    }
    return Component::make(Status::Absent, "no SMBIOS tables (/sys/class/dmi/id missing)");
  }
  const FileRead file = fs.readLine(kDmi + "product_uuid");
  if (file.status != ReadStatus::Ok) return fromFailedRead(file, "product_uuid");
  const std::string uuid = normalizeHexId(file.text);
  if (isJunkUuid(uuid)) return Component::make(Status::Junk, "product_uuid is a placeholder (" + file.text + ")");
  return Component::ok(uuid, "product_uuid");
}

Component readBoardSerial(const RootedFs& fs, const DmiReading& dmi) {
  if (!dmi.present) return Component::make(Status::Absent, "no SMBIOS tables (/sys/class/dmi/id missing)");
  // Baseboard serial (SMBIOS type 2) first, then the system serial (type 1), as on Windows.
  Component first;
  bool haveFirst = false;
  for (const char* attribute : {"board_serial", "product_serial"}) {
    const FileRead file = fs.readLine(kDmi + attribute);
    Component outcome;
    if (file.status != ReadStatus::Ok) {
      outcome = fromFailedRead(file, attribute);
    } else {
      const std::string serial = normalizeSerial(file.text);
      if (!isJunkSerial(serial)) return Component::ok(serial, attribute);
      outcome = Component::make(Status::Junk, std::string(attribute) + " is a placeholder (" + file.text + ")");
    }
    if (!haveFirst) {
      first = outcome;
      haveFirst = true;
    } else if (first.status == Status::Absent) {
      first = outcome;
    }
  }
  return first;
}

Component readModel(const DmiReading& dmi) {
  if (!dmi.present) return Component::make(Status::Absent, "no SMBIOS tables (/sys/class/dmi/id missing)");
  const std::string model = modelFromSmbios(dmi.names);
  if (model.empty() && dmi.names.sysVendor.empty() && dmi.names.productName.empty() && dmi.names.boardName.empty()) {
    return Component::make(Status::Absent, "sys_vendor, product_name and board_name are empty");
  }
  if (model.empty()) return Component::make(Status::Junk, "sys_vendor, product_name and board_name are placeholders");
  return Component::ok(model, "sys_vendor|product_name|board_name");
}

}  // namespace fingerprint
