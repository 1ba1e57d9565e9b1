// disk.bootSerial on Windows (docs/fingerprint-design.md#windows): system volume -> disk extents ->
// \\.\PhysicalDriveN opened with no access rights (no admin needed) ->
// IOCTL_STORAGE_QUERY_PROPERTY for the serial, then the device-id page for a WWN/EUI-64.
#include <windows.h>
#include <winioctl.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

#include "../common/junk.h"
#include "readers.h"

namespace fingerprint {

namespace {

struct Handle {
  HANDLE h;
  explicit Handle(HANDLE handle) : h(handle) {}
  ~Handle() {
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  bool ok() const { return h != INVALID_HANDLE_VALUE; }
};

HANDLE openWithoutAccess(const std::wstring& path) {
  // Desired access 0: enough for the FILE_ANY_ACCESS IOCTLs used here, and allowed for users.
  return CreateFileW(path.c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING, 0, nullptr);
}

// Queries one storage property into `out`; two calls, the first learns the size.
bool queryProperty(HANDLE disk, STORAGE_PROPERTY_ID id, std::vector<unsigned char>& out) {
  STORAGE_PROPERTY_QUERY query{};
  query.PropertyId = id;
  query.QueryType = PropertyStandardQuery;
  STORAGE_DESCRIPTOR_HEADER header{};
  DWORD returned = 0;
  if (!DeviceIoControl(disk, IOCTL_STORAGE_QUERY_PROPERTY, &query, sizeof query, &header, sizeof header, &returned,
                       nullptr) ||
      header.Size < sizeof header) {
    return false;
  }
  out.assign(header.Size, 0);
  return DeviceIoControl(disk, IOCTL_STORAGE_QUERY_PROPERTY, &query, sizeof query, out.data(),
                         static_cast<DWORD>(out.size()), &returned, nullptr) != 0;
}

std::string stringAt(const std::vector<unsigned char>& buffer, DWORD offset) {
  if (offset == 0 || offset >= buffer.size()) return {};
  const char* start = reinterpret_cast<const char*>(buffer.data() + offset);
  size_t length = 0;
  while (offset + length < buffer.size() && start[length] != '\0') ++length;
  return collapsePadding(std::string(start, length));
}

const char* busName(STORAGE_BUS_TYPE bus) {
  switch (bus) {
    case BusTypeNvme: return "nvme";
    case BusTypeSata: return "sata";
    case BusTypeAta: return "ata";
    case BusTypeScsi: return "scsi";
    case BusTypeSas: return "sas";
    case BusTypeUsb: return "usb";
    case BusTypeRAID: return "raid";
    case BusTypeVirtual: return "virtual";
    case BusTypeFileBackedVirtual: return "file-backed";
    default: return "other";
  }
}

// NAA (SCSI VPD 0x83 type 3) or EUI-64 designator as "naa.<hex>" / "eui.<hex>", the
// spelling the Linux kernel's wwid attribute uses.
std::string wwidOf(HANDLE disk) {
  std::vector<unsigned char> buffer;
  if (!queryProperty(disk, StorageDeviceIdProperty, buffer) || buffer.size() < sizeof(STORAGE_DEVICE_ID_DESCRIPTOR)) {
    return {};
  }
  const auto* descriptor = reinterpret_cast<const STORAGE_DEVICE_ID_DESCRIPTOR*>(buffer.data());
  size_t offset = offsetof(STORAGE_DEVICE_ID_DESCRIPTOR, Identifiers);
  for (DWORD i = 0; i < descriptor->NumberOfIdentifiers; ++i) {
    if (offset + sizeof(STORAGE_IDENTIFIER) > buffer.size()) break;
    const auto* id = reinterpret_cast<const STORAGE_IDENTIFIER*>(buffer.data() + offset);
    const size_t idOffset = offset + offsetof(STORAGE_IDENTIFIER, Identifier);
    const bool fits = idOffset + id->IdentifierSize <= buffer.size();
    const bool lun = id->Association == StorageIdAssocDevice;
    if (fits && lun && id->CodeSet == StorageIdCodeSetBinary &&
        (id->Type == StorageIdTypeFCPHName || id->Type == StorageIdTypeEUI64)) {
      std::string hex = id->Type == StorageIdTypeFCPHName ? "naa." : "eui.";
      char part[3];
      for (USHORT b = 0; b < id->IdentifierSize; ++b) {
        std::snprintf(part, sizeof part, "%02x", buffer[idOffset + b]);
        hex += part;
      }
      return hex;
    }
    if (id->NextOffset == 0) break;
    offset += id->NextOffset;
  }
  return {};
}

std::vector<DWORD> systemDiskNumbers(std::string& why) {
  wchar_t systemDir[MAX_PATH];
  const UINT length = GetSystemDirectoryW(systemDir, MAX_PATH);
  if (length < 2 || systemDir[1] != L':') {
    why = "cannot locate the system volume";
    return {};
  }
  const std::wstring volume = std::wstring(L"\\\\.\\") + systemDir[0] + L":";
  Handle handle(openWithoutAccess(volume));
  if (!handle.ok()) {
    why = "open system volume: " + windowsErrorText(GetLastError());
    return {};
  }
  // Room for 16 extents: spanned / striped dynamic volumes have one per disk.
  std::vector<unsigned char> buffer(sizeof(VOLUME_DISK_EXTENTS) + 16 * sizeof(DISK_EXTENT));
  DWORD returned = 0;
  if (!DeviceIoControl(handle.h, IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS, nullptr, 0, buffer.data(),
                       static_cast<DWORD>(buffer.size()), &returned, nullptr)) {
    why = "volume disk extents: " + windowsErrorText(GetLastError());
    return {};
  }
  const auto* extents = reinterpret_cast<const VOLUME_DISK_EXTENTS*>(buffer.data());
  std::set<DWORD> numbers;
  for (DWORD i = 0; i < extents->NumberOfDiskExtents && i < 16; ++i) numbers.insert(extents->Extents[i].DiskNumber);
  // Wine answers the ioctl with no extent at all.
  if (numbers.empty()) why = "the system volume reports no disk extent";
  return std::vector<DWORD>(numbers.begin(), numbers.end());
}

}  // namespace

Component readBootDisk(std::vector<DiskInfo>& disks) {
  std::string why;
  const std::vector<DWORD> numbers = systemDiskNumbers(why);
  if (numbers.empty()) return Component::make(why.find("denied") != std::string::npos ? Status::Denied : Status::Absent, why);

  std::vector<std::string> ids, problems;
  bool denied = false, junk = false;
  for (DWORD number : numbers) {
    DiskInfo disk;
    disk.name = "PhysicalDrive" + std::to_string(number);
    Handle handle(openWithoutAccess(L"\\\\.\\PhysicalDrive" + std::to_wstring(number)));
    std::vector<unsigned char> buffer;
    if (!handle.ok()) {
      const DWORD error = GetLastError();
      denied = denied || error == ERROR_ACCESS_DENIED;
      problems.push_back(disk.name + ": " + windowsErrorText(error));
      disks.push_back(disk);
      continue;
    }
    if (queryProperty(handle.h, StorageDeviceProperty, buffer) && buffer.size() >= sizeof(STORAGE_DEVICE_DESCRIPTOR)) {
      const auto* descriptor = reinterpret_cast<const STORAGE_DEVICE_DESCRIPTOR*>(buffer.data());
      disk.bus = busName(descriptor->BusType);
      disk.model = stringAt(buffer, descriptor->ProductIdOffset);
      disk.serial = normalizeSerial(stringAt(buffer, descriptor->SerialNumberOffset));
    }
    disk.wwid = wwidOf(handle.h);
    std::string rejected;
    if (!disk.wwid.empty() && isJunkDiskId(disk.wwid)) {
      rejected += " wwid '" + disk.wwid + "'";
      disk.wwid.clear();
    }
    if (!disk.serial.empty() && isJunkDiskId(disk.serial)) {
      rejected += " serial '" + disk.serial + "'";
      disk.serial.clear();
    }
    const std::string id = !disk.wwid.empty() ? disk.wwid : disk.serial;
    if (!id.empty()) {
      ids.push_back(id);
    } else {
      junk = junk || !rejected.empty();
      problems.push_back(disk.name + ": " + (rejected.empty() ? "no serial or WWN reported" : "placeholder" + rejected));
    }
    disks.push_back(disk);
  }
  if (ids.empty()) {
    std::string detail;
    for (const std::string& p : problems) detail += (detail.empty() ? "" : "; ") + p;
    return Component::make(denied ? Status::Denied : junk ? Status::Junk : Status::Absent, detail);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string value, names;
  for (const std::string& id : ids) value += (value.empty() ? "" : ",") + id;
  for (const DiskInfo& d : disks) names += (names.empty() ? "" : ",") + d.name;
  return Component::ok(value, "system volume on " + names);
}

}  // namespace fingerprint
