// Linux entry point: runs the readers the caller asked for over the chosen root.
#include "../common/cpuid.h"
#include "readers.h"

namespace fingerprint {

Fingerprint collect(const Options& options) {
  const RootedFs fs(options.root);
  Fingerprint fp;
  const DmiReading dmi = readDmiNames(fs);
  fp.hardware.cpu = readCpu(fs);

  if (options.wants(kMachineId)) fp.components[kMachineId] = readMachineId(fs);
  if (options.wants(kSystemUuid)) fp.components[kSystemUuid] = readSystemUuid(fs, dmi);
  if (options.wants(kBoardSerial)) fp.components[kBoardSerial] = readBoardSerial(fs, dmi);
  if (options.wants(kBootDiskSerial)) fp.components[kBootDiskSerial] = readBootDiskSerial(fs, fp.hardware.bootDisks);
  if (options.wants(kMacs)) fp.components[kMacs] = readMacs(fs);
  if (options.wants(kCpuSignature)) {
    const CpuInfo& cpu = fp.hardware.cpu;
    fp.components[kCpuSignature] =
        cpu.present && !cpu.vendor.empty()
            ? Component::ok(cpuSignature(cpu), fs.isLive() && !cpu.processorId.empty() ? "CPUID" : "/proc/cpuinfo")
            : Component::make(Status::Absent, "no CPUID and no /proc/cpuinfo");
  }
  if (options.wants(kModel)) fp.components[kModel] = readModel(dmi);
  fp.env = readEnvironment(fs, fp.hardware.cpu, dmi);
  return fp;
}

}  // namespace fingerprint
