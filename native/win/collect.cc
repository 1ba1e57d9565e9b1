// Windows entry point.
#include "../common/cpuid.h"
#include "../common/junk.h"
#include "readers.h"

namespace fingerprint {

namespace {

Component smbiosComponent(const SmbiosReading& smbios, const std::string& value, bool junk, const char* what) {
  if (smbios.status != Status::Ok) return Component::make(smbios.status, smbios.detail);
  if (value.empty()) return Component::make(Status::Absent, std::string(what) + " is not in the SMBIOS table");
  if (junk) return Component::make(Status::Junk, std::string(what) + " is a placeholder (" + value + ")");
  return Component::ok(value, std::string("SMBIOS ") + what);
}

}  // namespace

Fingerprint collect(const Options& options) {
  Fingerprint fp;
  const SmbiosReading smbios = readSmbios();
  fp.hardware.cpu = readCpuid();
  if (!fp.hardware.cpu.present) fp.hardware.cpu = readCpuFromRegistry();

  if (options.wants(kMachineId)) fp.components[kMachineId] = readMachineGuid();
  if (options.wants(kSystemUuid)) {
    const std::string uuid = normalizeHexId(smbios.systemUuid);
    fp.components[kSystemUuid] = smbiosComponent(smbios, uuid, isJunkUuid(uuid), "type 1 UUID");
  }
  if (options.wants(kBoardSerial)) {
    // Baseboard (type 2) serial first, then the system (type 1) serial, as on Linux.
    const std::string board = normalizeSerial(smbios.boardSerial);
    const std::string system = normalizeSerial(smbios.systemSerial);
    fp.components[kBoardSerial] =
        !board.empty() && !isJunkSerial(board) ? smbiosComponent(smbios, board, false, "type 2 serial")
        : !system.empty() && !isJunkSerial(system) ? smbiosComponent(smbios, system, false, "type 1 serial")
                                                   : smbiosComponent(smbios, board.empty() ? system : board, true, "board serial");
  }
  if (options.wants(kBootDiskSerial)) fp.components[kBootDiskSerial] = readBootDisk(fp.hardware.bootDisks);
  if (options.wants(kMacs)) fp.components[kMacs] = readMacs();
  if (options.wants(kCpuSignature)) {
    fp.components[kCpuSignature] = fp.hardware.cpu.present ? Component::ok(cpuSignature(fp.hardware.cpu), "CPUID")
                                                           : Component::make(Status::Absent, "no CPU information");
  }
  if (options.wants(kModel)) {
    const std::string model = modelFromSmbios(smbios.names);
    fp.components[kModel] = smbios.status != Status::Ok ? Component::make(smbios.status, smbios.detail)
                            : model.empty() ? Component::make(Status::Junk, "SMBIOS names are placeholders")
                                            : Component::ok(model, "SMBIOS type 1/2 names");
  }

  Env& env = fp.env;
  const CpuInfo& cpu = fp.hardware.cpu;
  noteCpuidHypervisor(cpu, "CPUID hypervisor bit", env);
  noteSmbiosHypervisor(smbios.names, env);
  env.cloud = cloudFromSmbios(smbios.names);
  if (isWindowsContainer()) {
    env.container = true;
    env.containerRuntime = "windows";
    env.evidence.push_back("HKLM\\SYSTEM\\CurrentControlSet\\Control\\ContainerType");
  }
  return fp;
}

}  // namespace fingerprint
