// Small IOKit / CoreFoundation helpers for the macOS readers (docs/fingerprint-design.md#macos).
#pragma once

#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>

#include <string>
#include <vector>

#include "../fingerprint.h"

namespace fingerprint {

// Releases an io_object_t at scope exit.
struct IoObject {
  io_object_t object;
  explicit IoObject(io_object_t o = IO_OBJECT_NULL) : object(o) {}
  ~IoObject() {
    if (object != IO_OBJECT_NULL) IOObjectRelease(object);
  }
  IoObject(const IoObject&) = delete;
  IoObject& operator=(const IoObject&) = delete;
};

// A string property of `entry` (CFString, or CFData holding text), "" if missing.
std::string stringProperty(io_registry_entry_t entry, CFStringRef key);
// A CFData property's bytes, empty if missing.
std::vector<unsigned char> dataProperty(io_registry_entry_t entry, CFStringRef key);

// IOPlatformExpertDevice: IOPlatformUUID, IOPlatformSerialNumber.
Component readPlatformUuid();
Component readPlatformSerial();
// disk.bootSerial: IOMedia of the "/" device, searched upwards for "Device Characteristics".
Component readBootDisk(std::vector<DiskInfo>& disks);
// net.macs: built-in IOEthernetInterface controllers' IOMACAddress.
Component readMacs();

}  // namespace fingerprint
