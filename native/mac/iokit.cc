#include "iokit.h"

#include <IOKit/IOBSD.h>
#include <IOKit/network/IOEthernetController.h>
#include <IOKit/network/IOEthernetInterface.h>
#include <IOKit/storage/IOMedia.h>
#include <IOKit/storage/IOStorageDeviceCharacteristics.h>
#include <IOKit/storage/IOStorageProtocolCharacteristics.h>
#include <sys/mount.h>

#include <algorithm>
#include <cstring>

#include "../common/junk.h"
#include "../common/mac_address.h"

namespace fingerprint {

namespace {

// kIOMainPortDefault (macOS 12+) and the deprecated kIOMasterPortDefault are both 0.
constexpr mach_port_t kDefaultPort = 0;

std::string fromCfString(CFStringRef string) {
  if (string == nullptr) return {};
  const CFIndex length = CFStringGetMaximumSizeForEncoding(CFStringGetLength(string), kCFStringEncodingUTF8) + 1;
  std::string out(static_cast<size_t>(length), '\0');
  if (!CFStringGetCString(string, &out[0], length, kCFStringEncodingUTF8)) return {};
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string stringFromCf(CFTypeRef value) {
  if (value == nullptr) return {};
  if (CFGetTypeID(value) == CFStringGetTypeID()) return fromCfString(static_cast<CFStringRef>(value));
  if (CFGetTypeID(value) == CFDataGetTypeID()) {
    const auto data = static_cast<CFDataRef>(value);
    return std::string(reinterpret_cast<const char*>(CFDataGetBytePtr(data)), static_cast<size_t>(CFDataGetLength(data)));
  }
  return {};
}

io_service_t platformExpert() {
  return IOServiceGetMatchingService(kDefaultPort, IOServiceMatching("IOPlatformExpertDevice"));
}

std::string dictionaryString(CFDictionaryRef dictionary, CFStringRef key) {
  if (dictionary == nullptr) return {};
  return stringFromCf(CFDictionaryGetValue(dictionary, key));
}

}  // namespace

std::string stringProperty(io_registry_entry_t entry, CFStringRef key) {
  CFTypeRef value = IORegistryEntryCreateCFProperty(entry, key, kCFAllocatorDefault, 0);
  std::string out = stringFromCf(value);
  if (value != nullptr) CFRelease(value);
  return collapsePadding(out);
}

std::vector<unsigned char> dataProperty(io_registry_entry_t entry, CFStringRef key) {
  std::vector<unsigned char> out;
  CFTypeRef value = IORegistryEntryCreateCFProperty(entry, key, kCFAllocatorDefault, 0);
  if (value != nullptr && CFGetTypeID(value) == CFDataGetTypeID()) {
    const auto data = static_cast<CFDataRef>(value);
    const UInt8* bytes = CFDataGetBytePtr(data);
    out.assign(bytes, bytes + CFDataGetLength(data));
  }
  if (value != nullptr) CFRelease(value);
  return out;
}

Component readPlatformUuid() {
  IoObject expert(platformExpert());
  if (expert.object == IO_OBJECT_NULL) return Component::make(Status::Error, "IOPlatformExpertDevice not found");
  const std::string uuid = normalizeHexId(stringProperty(expert.object, CFSTR(kIOPlatformUUIDKey)));
  if (uuid.empty()) return Component::make(Status::Absent, "no IOPlatformUUID");
  if (isJunkUuid(uuid)) return Component::make(Status::Junk, "IOPlatformUUID is a placeholder");
  return Component::ok(uuid, "IOPlatformUUID");
}

Component readPlatformSerial() {
  IoObject expert(platformExpert());
  if (expert.object == IO_OBJECT_NULL) return Component::make(Status::Error, "IOPlatformExpertDevice not found");
  const std::string serial = normalizeSerial(stringProperty(expert.object, CFSTR(kIOPlatformSerialNumberKey)));
  if (serial.empty()) return Component::make(Status::Absent, "no IOPlatformSerialNumber");
  if (isJunkSerial(serial)) return Component::make(Status::Junk, "IOPlatformSerialNumber is a placeholder");
  return Component::ok(serial, "IOPlatformSerialNumber");
}

Component readBootDisk(std::vector<DiskInfo>& disks) {
  struct statfs root;
  if (statfs("/", &root) != 0) return Component::make(Status::Error, "statfs(/) failed");
  std::string device = root.f_mntfromname;  // "/dev/disk3s1s1"
  if (device.compare(0, 5, "/dev/") != 0) return Component::make(Status::Absent, "root is not on a disk: " + device);
  const std::string bsdName = device.substr(5);
  IoObject media(IOServiceGetMatchingService(kDefaultPort, IOBSDNameMatching(kDefaultPort, 0, bsdName.c_str())));
  if (media.object == IO_OBJECT_NULL) return Component::make(Status::Absent, "no IOMedia for " + bsdName);

  // APFS volume -> container -> physical store -> disk -> block storage device: the
  // characteristics dictionaries live on the device, so search the parents.
  const IOOptionBits search = kIORegistryIterateRecursively | kIORegistryIterateParents;
  auto characteristics = static_cast<CFDictionaryRef>(IORegistryEntrySearchCFProperty(
      media.object, kIOServicePlane, CFSTR(kIOPropertyDeviceCharacteristicsKey), kCFAllocatorDefault, search));
  auto protocol = static_cast<CFDictionaryRef>(IORegistryEntrySearchCFProperty(
      media.object, kIOServicePlane, CFSTR(kIOPropertyProtocolCharacteristicsKey), kCFAllocatorDefault, search));
  DiskInfo disk;
  disk.name = bsdName;
  if (characteristics != nullptr && CFGetTypeID(characteristics) == CFDictionaryGetTypeID()) {
    disk.serial = normalizeSerial(dictionaryString(characteristics, CFSTR(kIOPropertyProductSerialNumberKey)));
    disk.model = collapsePadding(dictionaryString(characteristics, CFSTR(kIOPropertyProductNameKey)));
  }
  if (protocol != nullptr && CFGetTypeID(protocol) == CFDictionaryGetTypeID()) {
    disk.bus = collapsePadding(dictionaryString(protocol, CFSTR(kIOPropertyPhysicalInterconnectTypeKey)));
  }
  if (characteristics != nullptr) CFRelease(characteristics);
  if (protocol != nullptr) CFRelease(protocol);
  std::string rejected;
  if (!disk.serial.empty() && isJunkDiskId(disk.serial)) {
    rejected = disk.serial;
    disk.serial.clear();
  }
  disks.push_back(disk);
  if (!disk.serial.empty()) return Component::ok(disk.serial, "/ on " + bsdName + " (" + disk.bus + ")");
  if (!rejected.empty()) return Component::make(Status::Junk, bsdName + ": placeholder serial '" + rejected + "'");
  return Component::make(Status::Absent, bsdName + ": no serial in Device Characteristics");
}

Component readMacs() {
  io_iterator_t iterator = IO_OBJECT_NULL;
  if (IOServiceGetMatchingServices(kDefaultPort, IOServiceMatching(kIOEthernetInterfaceClass), &iterator) !=
      KERN_SUCCESS) {
    return Component::make(Status::Error, "IOEthernetInterface lookup failed");
  }
  std::vector<std::string> macs, rejected;
  while (io_object_t raw = IOIteratorNext(iterator)) {
    IoObject nic(raw);
    const std::string name = stringProperty(nic.object, CFSTR(kIOBSDNameKey));
    // Built-in ports only (docs/fingerprint-design.md#macos): not USB/Thunderbolt
    // adapters or virtual interfaces. Wi-Fi (IO80211*) is left out as on other OSes.
    CFTypeRef builtin = IORegistryEntryCreateCFProperty(nic.object, CFSTR(kIOBuiltin), kCFAllocatorDefault, 0);
    const bool isBuiltin = builtin != nullptr && CFGetTypeID(builtin) == CFBooleanGetTypeID() &&
                           CFBooleanGetValue(static_cast<CFBooleanRef>(builtin));
    if (builtin != nullptr) CFRelease(builtin);
    if (!isBuiltin) {
      rejected.push_back(name + ": not built in");
      continue;
    }
    if (IOObjectConformsTo(nic.object, "IO80211Interface") ||
        IOObjectConformsTo(nic.object, "IO80211SkywalkInterface")) {
      rejected.push_back(name + ": wireless");
      continue;
    }
    io_object_t controllerRaw = IO_OBJECT_NULL;
    if (IORegistryEntryGetParentEntry(nic.object, kIOServicePlane, &controllerRaw) != KERN_SUCCESS) continue;
    IoObject controller(controllerRaw);
    const std::vector<unsigned char> address = dataProperty(controller.object, CFSTR(kIOMACAddress));
    if (address.size() != 6) {
      rejected.push_back(name + ": no 6-byte address");
      continue;
    }
    if (const char* reason = macRejection(address.data())) {
      rejected.push_back(name + ": " + reason);
      continue;
    }
    macs.push_back(formatMac(address.data(), 6));
  }
  IOObjectRelease(iterator);
  std::sort(macs.begin(), macs.end());
  macs.erase(std::unique(macs.begin(), macs.end()), macs.end());
  if (macs.empty()) {
    std::string detail;
    for (const std::string& r : rejected) detail += (detail.empty() ? "" : "; ") + r;
    return Component::make(Status::Absent, "no built-in Ethernet port with a universal address (" + detail + ")");
  }
  return Component::okSet(macs, "IOEthernetInterface IOBuiltin");
}

}  // namespace fingerprint
