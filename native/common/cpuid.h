// CPU identity from the CPUID instruction (x86 / x86-64 only).
#pragma once

#include "../fingerprint.h"

namespace fingerprint {

// Fills vendor, family, model, stepping, brand, processorId and the hypervisor fields.
// Returns a CpuInfo with present == false on CPUs without CPUID (arm64, ...).
CpuInfo readCpuid();

// "vendor|family|model|stepping|brand", family/model in decimal as /proc/cpuinfo prints them
// (docs/fingerprint-design.md#component-catalogue).
std::string cpuSignature(const CpuInfo& cpu);

// Short hypervisor name for a CPUID 0x40000000 vendor signature ("KVMKVMKVM" -> "kvm");
// empty when unknown.
std::string hypervisorFromCpuidSignature(const std::string& signature);

// What CPUID says of a hypervisor, into env: the hypervisor bit marks it virtualised (noted in
// the evidence as bitEvidence), the 0x40000000 signature names the vendor. Returns whether the
// signature was there. Shared by every platform's collector.
bool noteCpuidHypervisor(const CpuInfo& cpu, const std::string& bitEvidence, Env& env);

}  // namespace fingerprint
