// macOS entry point (docs/fingerprint-design.md#macos).
#include <sys/sysctl.h>

#include <cstdint>

#include "../common/cpuid.h"
#include "../common/junk.h"
#include "iokit.h"

namespace fingerprint {

namespace {

std::string sysctlString(const char* name) {
  size_t size = 0;
  if (sysctlbyname(name, nullptr, &size, nullptr, 0) != 0 || size == 0) return {};
  std::string out(size, '\0');
  if (sysctlbyname(name, &out[0], &size, nullptr, 0) != 0) return {};
  out.resize(size > 0 && out[size - 1] == '\0' ? size - 1 : size);
  return collapsePadding(out);
}

bool sysctlInt(const char* name, int64_t& out) {
  int64_t value = 0;
  size_t size = sizeof value;
  if (sysctlbyname(name, &value, &size, nullptr, 0) != 0) return false;
  // Some of these are 32-bit; sysctl fills only `size` bytes (little-endian host).
  out = size == sizeof(int32_t) ? static_cast<int32_t>(value & 0xffffffff) : value;
  return true;
}

CpuInfo readCpu() {
  CpuInfo cpu = readCpuid();
  if (cpu.present) return cpu;
  // Apple silicon has no CPUID: the brand string and the CPU family id stand in.
  cpu.brand = sysctlString("machdep.cpu.brand_string");
  cpu.present = !cpu.brand.empty();
  cpu.vendor = "Apple";
  int64_t family = 0;
  if (sysctlInt("hw.cpufamily", family)) cpu.family = static_cast<unsigned>(family & 0xffffffff);
  return cpu;
}

}  // namespace

Fingerprint collect(const Options& options) {
  Fingerprint fp;
  fp.hardware.cpu = readCpu();
  if (options.wants(kMachineId)) {
    // No separate OS install id: IOPlatformUUID (hw.systemUuid) already survives reinstalls
    // (docs/fingerprint-design.md#macos).
    fp.components[kMachineId] = Component::make(Status::Unsupported, "macOS: see hw.systemUuid (IOPlatformUUID)");
  }
  if (options.wants(kSystemUuid)) fp.components[kSystemUuid] = readPlatformUuid();
  if (options.wants(kBoardSerial)) fp.components[kBoardSerial] = readPlatformSerial();
  if (options.wants(kBootDiskSerial)) fp.components[kBootDiskSerial] = readBootDisk(fp.hardware.bootDisks);
  if (options.wants(kMacs)) fp.components[kMacs] = readMacs();
  if (options.wants(kCpuSignature)) {
    fp.components[kCpuSignature] = fp.hardware.cpu.present
                                       ? Component::ok(cpuSignature(fp.hardware.cpu), "CPUID / sysctl")
                                       : Component::make(Status::Absent, "no CPU information");
  }
  if (options.wants(kModel)) {
    const std::string model = sysctlString("hw.model");  // "MacBookPro18,3"
    fp.components[kModel] = model.empty() ? Component::make(Status::Absent, "no hw.model")
                                          : Component::ok("Apple Inc.|" + model + "|", "sysctl hw.model");
  }

  Env& env = fp.env;
  int64_t vmm = 0;
  if (sysctlInt("kern.hv_vmm_present", vmm) && vmm != 0) {
    env.virtualized = true;
    env.evidence.push_back("kern.hv_vmm_present");
  }
  if (!noteCpuidHypervisor(fp.hardware.cpu, "CPUID hypervisor bit", env) && env.virtualized) {
    env.hypervisorVendor = "apple";  // Virtualization.framework guests on Apple silicon
  }
  return fp;
}

}  // namespace fingerprint
