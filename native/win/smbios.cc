// Raw SMBIOS without WMI: GetSystemFirmwareTable('RSMB') gives the same structure table the
// Linux kernel exposes as /sys/firmware/dmi/tables/DMI (SMBIOS spec DSP0134).
#include <windows.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "../common/junk.h"
#include "readers.h"

namespace fingerprint {

namespace {

// String number `index` (1-based) of the structure whose strings start at `strings`.
std::string smbiosString(const unsigned char* strings, const unsigned char* end, unsigned index) {
  if (index == 0) return {};
  const unsigned char* p = strings;
  for (unsigned i = 1; p < end && *p != 0; ++i) {
    const unsigned char* start = p;
    while (p < end && *p != 0) ++p;
    if (i == index) return collapsePadding(std::string(reinterpret_cast<const char*>(start), static_cast<size_t>(p - start)));
    ++p;
  }
  return {};
}

// SMBIOS >= 2.6 stores time_low, time_mid and time_hi little-endian (DSP0134 7.2.1); the
// Linux kernel and WMI print them swapped, so do the same to get the same string.
std::string formatUuid(const unsigned char* b, bool littleEndianFields) {
  char out[37];
  if (littleEndianFields) {
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
                  b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  } else {
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  }
  return out;
}

}  // namespace

void parseSmbios(const unsigned char* table, size_t length, int majorVersion, int minorVersion, SmbiosReading& out) {
  const unsigned char* p = table;
  const unsigned char* end = table + length;
  const bool littleEndianUuid = majorVersion > 2 || (majorVersion == 2 && minorVersion >= 6);
  while (p + 4 <= end) {
    const unsigned type = p[0];
    const unsigned formattedLength = p[1];
    if (formattedLength < 4 || p + formattedLength > end) break;
    const unsigned char* strings = p + formattedLength;
    auto field = [&](unsigned offset) -> unsigned { return offset < formattedLength ? p[offset] : 0; };
    auto text = [&](unsigned offset) { return smbiosString(strings, end, field(offset)); };
    switch (type) {
      case 0: out.names.biosVendor = text(0x04); break;
      case 1:
        out.names.sysVendor = text(0x04);
        out.names.productName = text(0x05);
        out.systemSerial = text(0x07);
        if (formattedLength >= 0x19) out.systemUuid = formatUuid(p + 0x08, littleEndianUuid);
        break;
      case 2:
        if (out.boardSerial.empty()) {  // first baseboard = the main board
          out.names.boardVendor = text(0x04);
          out.names.boardName = text(0x05);
          out.boardSerial = text(0x07);
        }
        break;
      case 3: out.names.chassisAssetTag = text(0x08); break;
      default: break;
    }
    // Skip the string set: it ends with a double NUL.
    const unsigned char* next = strings;
    while (next + 1 < end && !(next[0] == 0 && next[1] == 0)) ++next;
    p = next + 2;
    if (type == 127) break;  // end-of-table
  }
}

SmbiosReading readSmbios() {
  SmbiosReading reading;
  // 'RSMB' spelled out: a multi-character literal is implementation-defined.
  const DWORD provider = (DWORD('R') << 24) | (DWORD('S') << 16) | (DWORD('M') << 8) | DWORD('B');
  const UINT size = GetSystemFirmwareTable(provider, 0, nullptr, 0);
  if (size == 0) {
    reading.status = Status::Absent;
    reading.detail = "no SMBIOS table (" + windowsErrorText(GetLastError()) + ")";
    return reading;
  }
  std::vector<unsigned char> buffer(size);
  if (GetSystemFirmwareTable(provider, 0, buffer.data(), size) != size || size < 8) {
    reading.status = Status::Error;
    reading.detail = "GetSystemFirmwareTable: " + windowsErrorText(GetLastError());
    return reading;
  }
  // RawSMBIOSData: Used20CallingMethod, Major, Minor, DmiRevision, DWORD Length, table.
  DWORD tableLength = 0;
  std::memcpy(&tableLength, buffer.data() + 4, sizeof tableLength);
  if (tableLength > size - 8) tableLength = size - 8;
  parseSmbios(buffer.data() + 8, tableLength, buffer[1], buffer[2], reading);
  reading.status = Status::Ok;
  return reading;
}

}  // namespace fingerprint
