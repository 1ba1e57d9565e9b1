// net.macs on Linux (docs/fingerprint-design.md#mac-rules). On the live root the interface list and
// the burned-in addresses come from one rtnetlink RTM_GETLINK dump (IFLA_PERM_ADDRESS, Linux 5.6+),
// with ETHTOOL_GPERMADDR (allowed without CAP_NET_ADMIN) where the kernel does not report one; over
// a fixture root both come from /sys/class/net.
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "../common/mac_address.h"
#include "readers.h"

namespace fingerprint {

namespace {

constexpr size_t kMaxAddressLength = 32;  // MAX_ADDR_LEN in linux/netdevice.h
// IFLA_PERM_ADDRESS (Linux 5.6) of linux/if_link.h, spelled out for older kernel headers.
constexpr unsigned short kIflaPermAddress = 54;

struct Interface {
  unsigned hardwareType = 0;  // ARPHRD_*
  std::string address;        // current address as text
  std::string permanent;      // IFLA_PERM_ADDRESS bytes; empty when the kernel gave none
};

// Where rtnetlink cannot be asked directly: getifaddrs() makes the same RTM_GETLINK dump (and one
// of every IP address, which nothing here needs) and lists the links as AF_PACKET entries.
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

// One RTM_NEWLINK message, kept as getifaddrs() keeps it: only a link with a hardware address,
// of which at most 8 bytes (its sll_addr) are shown.
void addLink(const struct nlmsghdr* message, std::map<std::string, Interface>& out) {
  const auto* info = static_cast<const struct ifinfomsg*>(NLMSG_DATA(message));
  int length = static_cast<int>(message->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof *info));
  if (length < 0) return;
  std::string name;
  Interface nic;
  nic.hardwareType = info->ifi_type;
  bool hasAddress = false;
  for (auto* attribute = IFLA_RTA(info); RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length)) {
    const auto* data = static_cast<const uint8_t*>(RTA_DATA(attribute));
    const size_t size = RTA_PAYLOAD(attribute);
    if (attribute->rta_type == IFLA_IFNAME) {
      name.assign(reinterpret_cast<const char*>(data), strnlen(reinterpret_cast<const char*>(data), size));
    } else if (attribute->rta_type == IFLA_ADDRESS) {
      hasAddress = true;
      nic.address = formatMac(data, std::min<size_t>(size, 8));
    } else if (attribute->rta_type == kIflaPermAddress) {
      nic.permanent.assign(reinterpret_cast<const char*>(data), size);
    }
  }
  if (hasAddress && !name.empty()) out[name] = nic;
}

// False when the dump could not be done (no netlink here); the caller then asks getifaddrs().
bool interfacesFromNetlink(std::map<std::string, Interface>& out) {
  const int sock = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0) return false;
  struct {
    struct nlmsghdr header;
    struct ifinfomsg info;
  } request;
  std::memset(&request, 0, sizeof request);
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = RTM_GETLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.header.nlmsg_seq = 1;
  request.info.ifi_family = AF_UNSPEC;
  struct sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  bool done = ::sendto(sock, &request, sizeof request, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel) < 0;
  bool ok = !done;
  alignas(struct nlmsghdr) char buffer[32 * 1024];  // the kernel's largest dump batch
  while (!done) {
    // MSG_TRUNC: the datagram's real length, to tell a batch that did not fit.
    const ssize_t received = ::recv(sock, buffer, sizeof buffer, MSG_TRUNC);
    if (received < 0 && errno == EINTR) continue;
    if (received <= 0 || static_cast<size_t>(received) > sizeof buffer) {
      ok = false;
      break;
    }
    int length = static_cast<int>(received);
    for (auto* message = reinterpret_cast<const struct nlmsghdr*>(buffer); NLMSG_OK(message, length);
         message = NLMSG_NEXT(message, length)) {
      if (message->nlmsg_seq != request.header.nlmsg_seq) continue;
      if (message->nlmsg_type == NLMSG_DONE || message->nlmsg_type == NLMSG_ERROR) {
        ok = message->nlmsg_type == NLMSG_DONE;
        done = true;
        break;
      }
      if (message->nlmsg_type == RTM_NEWLINK) addLink(message, out);
    }
  }
  ::close(sock);
  if (!ok) out.clear();
  return ok;
}

std::map<std::string, Interface> liveInterfaces() {
  std::map<std::string, Interface> out;
  return interfacesFromNetlink(out) ? out : interfacesFromGetifaddrs();
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

// The driver's burned-in address; false if the driver has none (virtual, some VMs). The
// rtnetlink dump already carries it on Linux 5.6+ (the same dev->perm_addr the ioctl copies, left
// out when all-zero); the ioctl socket is opened only when an interface lacks it.
bool permanentAddress(int& sock, bool live, const std::string& name, const Interface& nic, uint8_t out[6]) {
  if (!nic.permanent.empty()) {
    if (nic.permanent.size() != 6) return false;
    std::memcpy(out, nic.permanent.data(), 6);
  } else {
    if (!live || name.size() >= IFNAMSIZ) return false;
    // Any AF_INET datagram socket carries SIOCETHTOOL; no privilege is needed for GPERMADDR.
    if (sock < 0) sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return false;
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
  }
  for (int i = 0; i < 6; ++i) {
    if (out[i] != 0) return true;
  }
  return false;
}

}  // namespace

Component readMacs(const RootedFs& fs) {
  const std::map<std::string, Interface> interfaces = fs.isLive() ? liveInterfaces() : interfacesFromSysfs(fs);
  if (interfaces.empty()) return Component::make(Status::Absent, "no network interfaces");
  int sock = -1;  // for ETHTOOL_GPERMADDR, opened on first need

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
      reason = "wireless";  // docs/fingerprint-design.md#mac-rules
    } else if (fs.resolve(sys + "/device").find("/usb") != std::string::npos) {
      reason = "USB adapter";  // docks and tethering come and go
    } else {
      uint8_t bytes[6];
      if (permanentAddress(sock, fs.isLive(), name, nic, bytes)) {
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
