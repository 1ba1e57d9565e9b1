#include <cstdlib>
#include <sstream>

#include "../common/cpuid.h"
#include "../common/junk.h"
#include "readers.h"

namespace fingerprint {

CpuInfo parseCpuinfo(const std::string& text) {
  CpuInfo cpu;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      if (cpu.present && collapsePadding(line).empty()) break;  // first processor block only
      continue;
    }
    const std::string key = collapsePadding(line.substr(0, colon));
    const std::string value = collapsePadding(line.substr(colon + 1));
    const unsigned number = static_cast<unsigned>(std::strtoul(value.c_str(), nullptr, 0));
    if (key == "vendor_id") cpu.vendor = value;
    else if (key == "cpu family") cpu.family = number;
    else if (key == "model") cpu.model = number;
    else if (key == "stepping") cpu.stepping = number;
    else if (key == "model name") cpu.brand = value;
    else if (key == "flags") cpu.hypervisorBit = (" " + value + " ").find(" hypervisor ") != std::string::npos;
    // arm64 names the core by implementer / architecture / part / revision instead.
    else if (key == "CPU implementer") cpu.vendor = "arm:" + value;
    else if (key == "CPU architecture") cpu.family = number;
    else if (key == "CPU part") cpu.model = number;
    else if (key == "CPU revision") cpu.stepping = number;
    else continue;
    cpu.present = true;
  }
  return cpu;
}

CpuInfo readCpu(const RootedFs& fs) {
  if (fs.isLive()) {
    CpuInfo cpu = readCpuid();
    if (cpu.present) return cpu;
  }
  // Over a fixture root the CPU executing CPUID is not the fixture's; read its cpuinfo.
  const FileRead file = fs.read("/proc/cpuinfo", 256 * 1024);
  return file.status == ReadStatus::Ok ? parseCpuinfo(file.text) : CpuInfo{};
}

}  // namespace fingerprint
