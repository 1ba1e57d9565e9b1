#include "cpuid.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "junk.h"

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#define FINGERPRINT_HAS_CPUID 1
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace fingerprint {

#if defined(FINGERPRINT_HAS_CPUID)
namespace {

struct Regs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs cpuid(uint32_t leaf) {
  Regs r;
#if defined(_MSC_VER)
  int out[4] = {0, 0, 0, 0};
  __cpuidex(out, static_cast<int>(leaf), 0);
  r.eax = static_cast<uint32_t>(out[0]);
  r.ebx = static_cast<uint32_t>(out[1]);
  r.ecx = static_cast<uint32_t>(out[2]);
  r.edx = static_cast<uint32_t>(out[3]);
#else
  __cpuid_count(leaf, 0, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

std::string registersAsText(std::initializer_list<uint32_t> regs) {
  std::string out;
  for (uint32_t reg : regs) {
    char bytes[4];
    std::memcpy(bytes, &reg, 4);  // little-endian: the byte order CPUID vendor strings use
    out.append(bytes, 4);
  }
  return out;
}

CpuInfo readCpuidUncached() {
  CpuInfo cpu;
  const Regs leaf0 = cpuid(0);
  cpu.present = true;
  cpu.vendor = collapsePadding(registersAsText({leaf0.ebx, leaf0.edx, leaf0.ecx}));
  if (leaf0.eax >= 1) {
    const Regs leaf1 = cpuid(1);
    const unsigned baseFamily = (leaf1.eax >> 8) & 0xF;
    const unsigned baseModel = (leaf1.eax >> 4) & 0xF;
    cpu.stepping = leaf1.eax & 0xF;
    cpu.family = baseFamily == 0xF ? baseFamily + ((leaf1.eax >> 20) & 0xFF) : baseFamily;
    // The Linux kernel's rule (arch/x86/lib/cpu.c x86_model): the extended model counts from
    // family 6 on, so our numbers agree with /proc/cpuinfo.
    cpu.model = cpu.family >= 6 ? baseModel + (((leaf1.eax >> 16) & 0xF) << 4) : baseModel;
    char id[17];
    std::snprintf(id, sizeof id, "%08X%08X", static_cast<unsigned>(leaf1.edx), static_cast<unsigned>(leaf1.eax));
    cpu.processorId = id;
    cpu.hypervisorBit = ((leaf1.ecx >> 31) & 1) != 0;
  }
  if (cpu.hypervisorBit) {
    const Regs hv = cpuid(0x40000000);
    cpu.hypervisorSignature = collapsePadding(registersAsText({hv.ebx, hv.ecx, hv.edx}));
  }
  if (cpuid(0x80000000).eax >= 0x80000004) {
    std::string brand;
    for (uint32_t leaf = 0x80000002; leaf <= 0x80000004; ++leaf) {
      const Regs r = cpuid(leaf);
      brand += registersAsText({r.eax, r.ebx, r.ecx, r.edx});
    }
    cpu.brand = collapsePadding(brand);
  }
  return cpu;
}

}  // namespace

CpuInfo readCpuid() {
  // Read once per process: in a VM every CPUID traps to the hypervisor (microseconds a leaf:
  // docs/performance.md#fingerprint-collection), and the CPU does not change under a running process
  // (docs/fingerprint-design.md#cpuid-leaf-0x40000000).
  // (A live migration to another CPU model shows up at the next start.) Thread-safe static.
  static const CpuInfo cpu = readCpuidUncached();
  return cpu;
}
#else
CpuInfo readCpuid() { return CpuInfo{}; }
#endif

std::string cpuSignature(const CpuInfo& cpu) {
  return cpu.vendor + "|" + std::to_string(cpu.family) + "|" + std::to_string(cpu.model) + "|" +
         std::to_string(cpu.stepping) + "|" + cpu.brand;
}

std::string hypervisorFromCpuidSignature(const std::string& signature) {
  // Vendor signatures of CPUID leaf 0x40000000 (docs/fingerprint-design.md#cpuid-leaf-0x40000000).
  static const struct {
    const char* signature;
    const char* name;
  } known[] = {
      {"KVMKVMKVM", "kvm"},       {"Microsoft Hv", "microsoft"}, {"VMwareVMware", "vmware"},
      {"VBoxVBoxVBox", "virtualbox"}, {"XenVMMXenVMM", "xen"},   {"TCGTCGTCGTCG", "qemu"},
      {"bhyve bhyve", "bhyve"},   {"ACRNACRNACRN", "acrn"},      {"prl hyperv", "parallels"},
      {"lrpepyh vr", "parallels"}, {"QNXQVMBSQG", "qnx"},        {"Linux KVM Hv", "kvm"},
      {"VirtualApple", "apple"},
  };
  for (const auto& entry : known) {
    if (signature == entry.signature) return entry.name;
  }
  return {};
}

bool noteCpuidHypervisor(const CpuInfo& cpu, const std::string& bitEvidence, Env& env) {
  if (cpu.hypervisorBit) {
    env.virtualized = true;
    env.evidence.push_back(bitEvidence);
  }
  if (cpu.hypervisorSignature.empty()) return false;
  env.hypervisorVendor = hypervisorFromCpuidSignature(cpu.hypervisorSignature);
  env.evidence.push_back("CPUID 0x40000000: " + cpu.hypervisorSignature);
  return true;
}

}  // namespace fingerprint
