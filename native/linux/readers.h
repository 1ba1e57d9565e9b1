// The Linux component readers. Each reads only through RootedFs (plus, on the live root,
// the syscalls named in its file), never spawns a process, and reports problems as statuses.
#pragma once

#include <string>
#include <vector>

#include "../common/environment.h"
#include "../fingerprint.h"
#include "rooted_fs.h"

namespace fingerprint {

// os.machineId: /etc/machine-id, then /var/lib/dbus/machine-id.
Component readMachineId(const RootedFs& fs);

// SMBIOS through /sys/class/dmi/id (names are 0444, UUID and serials 0400).
struct DmiReading {
  bool present = false;  // /sys/class/dmi/id exists
  SmbiosNames names;
};
DmiReading readDmiNames(const RootedFs& fs);
Component readSystemUuid(const RootedFs& fs, const DmiReading& dmi);
Component readBoardSerial(const RootedFs& fs, const DmiReading& dmi);
Component readModel(const DmiReading& dmi);

// disk.bootSerial: the disk(s) below "/", through partitions, dm/LVM/LUKS and md.
Component readBootDiskSerial(const RootedFs& fs, std::vector<DiskInfo>& disks);

// net.macs: permanent MACs of physical, universally administered Ethernet NICs.
Component readMacs(const RootedFs& fs);

// CPU: CPUID on the live root of an x86 machine, /proc/cpuinfo otherwise.
CpuInfo readCpu(const RootedFs& fs);
CpuInfo parseCpuinfo(const std::string& text);

// Virtualisation / container / cloud report.
Env readEnvironment(const RootedFs& fs, const CpuInfo& cpu, const DmiReading& dmi);

}  // namespace fingerprint
