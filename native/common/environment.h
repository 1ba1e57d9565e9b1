// Reading virtualisation and cloud hints out of SMBIOS strings; shared by Linux (sysfs DMI)
// and Windows (raw SMBIOS) so both name a platform the same way
// (docs/fingerprint-design.md#virtualisation-and-container-report).
#pragma once

#include <string>

#include "../fingerprint.h"

namespace fingerprint {

struct SmbiosNames {
  std::string sysVendor;
  std::string productName;
  std::string boardVendor;
  std::string boardName;
  std::string biosVendor;
  std::string chassisAssetTag;
};

// Short hypervisor name ("kvm", "vmware", ...) the SMBIOS strings reveal, or empty.
std::string hypervisorFromSmbios(const SmbiosNames& names);

// Notes a hypervisor the SMBIOS strings name. They alone do not prove a VM (bare-metal cloud
// hosts keep the cloud's names), but they name the hypervisor when env already says there is one.
void noteSmbiosHypervisor(const SmbiosNames& names, Env& env);

// Cloud provider ("aws", "gcp", "azure", ...) the SMBIOS strings reveal, or empty.
std::string cloudFromSmbios(const SmbiosNames& names);

// "sys_vendor|product_name|board_name" with placeholders blanked; empty if all are placeholders.
std::string modelFromSmbios(const SmbiosNames& names);

}  // namespace fingerprint
