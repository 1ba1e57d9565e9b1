// net.macs on Windows (docs/fingerprint-design.md#windows): GetIfTable2 rows that are hardware
// Ethernet interfaces, using PermanentPhysicalAddress (the burned-in address, unaffected by
// user overrides). Wi-Fi is left out as on the other platforms.
#include <winsock2.h>
#include <ws2ipdef.h>
#include <iphlpapi.h>
#include <netioapi.h>

#include <algorithm>

#include "../common/mac_address.h"
#include "readers.h"

namespace fingerprint {

Component readMacs() {
  MIB_IF_TABLE2* table = nullptr;
  const DWORD status = GetIfTable2(&table);
  if (status != NO_ERROR) return Component::make(Status::Error, "GetIfTable2: " + windowsErrorText(status));
  std::vector<std::string> macs, accepted, rejected;
  for (ULONG i = 0; i < table->NumEntries; ++i) {
    const MIB_IF_ROW2& row = table->Table[i];
    const std::string name = narrow(row.Alias, wcsnlen(row.Alias, IF_MAX_STRING_SIZE));
    // Filter-driver and virtual rows (Hyper-V switch, VPN, loopback) are not HardwareInterface.
    if (!row.InterfaceAndOperStatusFlags.HardwareInterface || !row.InterfaceAndOperStatusFlags.ConnectorPresent) continue;
    if (row.Type != IF_TYPE_ETHERNET_CSMACD) {
      rejected.push_back(name + ": not Ethernet");
      continue;
    }
    if (row.PhysicalAddressLength != 6) {
      rejected.push_back(name + ": no 6-byte permanent address");
      continue;
    }
    if (const char* reason = macRejection(row.PermanentPhysicalAddress)) {
      rejected.push_back(name + ": " + reason);
      continue;
    }
    macs.push_back(formatMac(row.PermanentPhysicalAddress, 6));
    accepted.push_back(name);
  }
  FreeMibTable(table);
  std::sort(macs.begin(), macs.end());
  macs.erase(std::unique(macs.begin(), macs.end()), macs.end());
  std::string detail;
  if (macs.empty()) {
    for (const std::string& r : rejected) detail += (detail.empty() ? "" : "; ") + r;
    return Component::make(Status::Absent, "no hardware Ethernet NIC with a universal address" +
                                               (detail.empty() ? std::string() : " (" + detail + ")"));
  }
  for (const std::string& a : accepted) detail += (detail.empty() ? "" : ", ") + a;
  return Component::okSet(macs, detail);
}

}  // namespace fingerprint
