// The Windows component readers: registry (64-bit view), raw SMBIOS through
// GetSystemFirmwareTable('RSMB'), IOCTL_STORAGE_QUERY_PROPERTY and GetIfTable2. No WMI, no
// COM, no reg.exe/PowerShell (docs/fingerprint-design.md#windows). None of them needs admin rights.
#pragma once

#include <string>
#include <vector>

#include "../common/environment.h"
#include "../fingerprint.h"

namespace fingerprint {

std::string narrow(const wchar_t* wide, size_t length);
std::string windowsErrorText(unsigned long code);

// os.machineId: HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid, read with KEY_WOW64_64KEY
// so 32-bit processes see the same value as 64-bit ones.
Component readMachineGuid();
// CPU vendor / name from HKLM\HARDWARE\DESCRIPTION\System\CentralProcessor\0 (ARM64 has no CPUID).
CpuInfo readCpuFromRegistry();
// Windows Server containers mark themselves with HKLM\SYSTEM\CurrentControlSet\Control\ContainerType.
bool isWindowsContainer();

struct SmbiosReading {
  Status status = Status::Absent;  // of the firmware table read itself
  std::string detail;
  SmbiosNames names;
  std::string systemUuid;    // type 1, normalised, "" if missing
  std::string systemSerial;  // type 1
  std::string boardSerial;   // type 2
};
SmbiosReading readSmbios();
// Parses a RawSMBIOSData blob (header + structure table); exposed for reuse by the reader.
void parseSmbios(const unsigned char* table, size_t length, int majorVersion, int minorVersion, SmbiosReading& out);

// disk.bootSerial: the physical disk(s) under the system volume.
Component readBootDisk(std::vector<DiskInfo>& disks);

// net.macs: PermanentPhysicalAddress of hardware Ethernet interfaces.
Component readMacs();

}  // namespace fingerprint
