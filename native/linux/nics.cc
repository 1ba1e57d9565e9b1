// net.macs on Linux (fingerprint-research §2.6). On the live root the interface list comes
// from getifaddrs(AF_PACKET) and the burned-in address from ETHTOOL_GPERMADDR (allowed
// without CAP_NET_ADMIN); over a fixture root both come from /sys/class/net.
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "../common/mac_address.h"
#include "readers.h"

namespace fingerprint {

namespace {

constexpr size_t kMaxAddressLength = 32;  // MAX_ADDR_LEN in linux/netdevice.h

struct Interface {
  unsigned hardwareType = 0;  // ARPHRD_*
  std::string address;        // current address as text
};

std::map<std::string, Interface> interfacesFromGetifaddrs() {
  std::map<std::string, Interface> out;
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const struct ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_PACKET) continue;
    const auto* link = reinterpret_cast<const struct sockaddr_ll*>(it->ifa_addr);
    Interface& nic = out[it->ifa_name];
    nic.hardwareType = link->sll_hatype;
    nic.address = formatMac(link->sll_addr, std::min<size_t>(link->sll_halen, sizeof link->sll_addr));
  }
  ::freeifaddrs(list);
  return out;
}

std::map<std::string, Interface> interfacesFromSysfs(const RootedFs& fs) {
  std::map<std::string, Interface> out;
  for (const std::string& name : fs.list("/sys/class/net")) {
    Interface& nic = out[name];
    const FileRead type = fs.readLine("/sys/class/net/" + name + "/type");
    nic.hardwareType = type.status == ReadStatus::Ok ? static_cast<unsigned>(std::strtoul(type.text.c_str(), nullptr, 10)) : 0;
    const FileRead address = fs.readLine("/sys/class/net/" + name + "/address");
    if (address.status == ReadStatus::Ok) nic.address = address.text;
  }
  return out;
}

// The driver's burned-in address; false if the driver has none (virtual, some VMs).
bool permanentAddress(int sock, const std::string& name, uint8_t out[6]) {
  if (sock < 0 || name.size() >= IFNAMSIZ) return false;
  alignas(struct ethtool_perm_addr) unsigned char buffer[sizeof(struct ethtool_perm_addr) + kMaxAddressLength];
  std::memset(buffer, 0, sizeof buffer);
  auto* request = reinterpret_cast<struct ethtool_perm_addr*>(buffer);
  request->cmd = ETHTOOL_GPERMADDR;
  request->size = kMaxAddressLength;
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  ifr.ifr_data = reinterpret_cast<char*>(buffer);
  if (::ioctl(sock, SIOCETHTOOL, &ifr) != 0 || request->size != 6) return false;
  std::memcpy(out, buffer + sizeof(struct ethtool_perm_addr), 6);
  for (int i = 0; i < 6; ++i) {
    if (out[i] != 0) return true;
  }
  return false;
}

}  // namespace

Component readMacs(const RootedFs& fs) {
  const std::map<std::string, Interface> interfaces = fs.isLive() ? interfacesFromGetifaddrs() : interfacesFromSysfs(fs);
  if (interfaces.empty()) return Component::make(Status::Absent, "no network interfaces");
  // Any AF_INET datagram socket carries SIOCETHTOOL; no privilege is needed for GPERMADDR.
  const int sock = fs.isLive() ? ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;

  std::vector<std::string> macs, rejected;
  std::vector<std::string> accepted;
  for (const auto& [name, nic] : interfaces) {
    const std::string sys = "/sys/class/net/" + name;
    const char* reason = nullptr;
    std::string mac;
    if (nic.hardwareType != ARPHRD_ETHER) {
      reason = "not Ethernet";
    } else if (!fs.exists(sys + "/device")) {
      reason = "virtual (no bus device)";  // lo, veth, bridges, bonds, VLANs, tun/tap, wg
    } else if (fs.exists(sys + "/wireless") || fs.exists(sys + "/phy80211")) {
      reason = "wireless";  // left out by fingerprint-research §5.1
    } else if (fs.resolve(sys + "/device").find("/usb") != std::string::npos) {
      reason = "USB adapter";  // docks and tethering come and go
    } else {
      uint8_t bytes[6];
      if (permanentAddress(sock, name, bytes)) {
        reason = macRejection(bytes);
        mac = formatMac(bytes, 6);
      } else {
        // Without a permanent address from the driver, the current one counts only if the
        // kernel says it is the device's own (NET_ADDR_PERM = 0), not random (1) or set (3).
        const FileRead assign = fs.readLine(sys + "/addr_assign_type");
        if (assign.status != ReadStatus::Ok || assign.text != "0") {
          reason = "address is random or set by software";
        } else if (!parseMac(nic.address, bytes)) {
          reason = "no 6-byte address";
        } else {
          reason = macRejection(bytes);
          mac = formatMac(bytes, 6);
        }
      }
    }
    if (reason != nullptr) {
      rejected.push_back(name + ": " + reason);
    } else {
      macs.push_back(mac);
      accepted.push_back(name);
    }
  }
  if (sock >= 0) ::close(sock);

  std::string detail;
  for (const std::string& line : accepted) detail += (detail.empty() ? "" : ", ") + line;
  std::string rejectedText;
  for (const std::string& line : rejected) rejectedText += (rejectedText.empty() ? "" : "; ") + line;
  if (macs.empty()) return Component::make(Status::Absent, "no physical NIC with a universal address (" + rejectedText + ")");
  std::sort(macs.begin(), macs.end());
  macs.erase(std::unique(macs.begin(), macs.end()), macs.end());
  return Component::okSet(macs, detail);
}

}  // namespace fingerprint
