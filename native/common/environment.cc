#include "environment.h"

#include "junk.h"

namespace fingerprint {

namespace {

bool contains(const std::string& haystack, const char* needle) { return haystack.find(needle) != std::string::npos; }

std::string clean(const std::string& name) {
  const std::string collapsed = collapsePadding(name);
  return isJunkName(collapsed) ? std::string() : collapsed;
}

}  // namespace

std::string hypervisorFromSmbios(const SmbiosNames& n) {
  const std::string& vendor = n.sysVendor;
  const std::string& product = n.productName;
  if (contains(vendor, "QEMU") || contains(product, "KVM") || contains(product, "Standard PC (")) return "kvm";
  if (contains(vendor, "VMware")) return "vmware";
  if (contains(vendor, "innotek") || contains(product, "VirtualBox")) return "virtualbox";
  if (contains(vendor, "Microsoft Corporation") && contains(product, "Virtual Machine")) return "microsoft";
  if (contains(vendor, "Xen") || contains(n.biosVendor, "Xen")) return "xen";
  if (contains(vendor, "Parallels")) return "parallels";
  if (contains(vendor, "Amazon EC2") || contains(n.biosVendor, "Amazon EC2")) return "amazon";
  if (contains(product, "Google Compute Engine")) return "google";
  if (contains(vendor, "BHYVE")) return "bhyve";
  if (contains(product, "OpenStack")) return "kvm";
  return {};
}

void noteSmbiosHypervisor(const SmbiosNames& names, Env& env) {
  const std::string named = hypervisorFromSmbios(names);
  if (named.empty()) return;
  env.evidence.push_back("SMBIOS: " + names.sysVendor + " " + names.productName);
  if (env.virtualized && env.hypervisorVendor.empty()) env.hypervisorVendor = named;
}

std::string cloudFromSmbios(const SmbiosNames& n) {
  if (contains(n.sysVendor, "Amazon EC2") || contains(n.biosVendor, "Amazon EC2")) return "aws";
  if (contains(n.productName, "Google Compute Engine") || contains(n.sysVendor, "Google")) return "gcp";
  // Azure VMs carry this fixed chassis asset tag (Hyper-V alone does not).
  if (n.chassisAssetTag == "7783-7084-3265-9085-8269-3286-77") return "azure";
  if (contains(n.sysVendor, "Alibaba Cloud")) return "alibaba";
  if (contains(n.chassisAssetTag, "OracleCloud.com")) return "oracle";
  if (contains(n.sysVendor, "DigitalOcean")) return "digitalocean";
  if (contains(n.sysVendor, "Hetzner")) return "hetzner";
  if (contains(n.sysVendor, "Tencent Cloud")) return "tencent";
  if (contains(n.productName, "OpenStack") || contains(n.sysVendor, "OpenStack")) return "openstack";
  return {};
}

std::string modelFromSmbios(const SmbiosNames& n) {
  const std::string vendor = clean(n.sysVendor), product = clean(n.productName), board = clean(n.boardName);
  if (vendor.empty() && product.empty() && board.empty()) return {};
  return vendor + "|" + product + "|" + board;
}

}  // namespace fingerprint
