#include "mac_address.h"

#include <cstdio>

namespace fingerprint {

std::string formatMac(const uint8_t* bytes, size_t length) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 3);
  for (size_t i = 0; i < length; ++i) {
    if (i != 0) out += ':';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0f];
  }
  return out;
}

bool parseMac(const std::string& text, uint8_t out[6]) {
  unsigned b[6];
  char sep[5];
  char tail;
  if (std::sscanf(text.c_str(), "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &b[0], &sep[0], &b[1], &sep[1], &b[2], &sep[2],
                  &b[3], &sep[3], &b[4], &sep[4], &b[5], &tail) != 11) {
    return false;
  }
  for (char s : sep) {
    if (s != ':' && s != '-') return false;
  }
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(b[i]);
  return true;
}

const char* macRejection(const uint8_t bytes[6]) {
  bool zero = true;
  for (int i = 0; i < 6; ++i) zero = zero && bytes[i] == 0;
  if (zero) return "all-zero address";
  if ((bytes[0] & 0x01) != 0) return "multicast address";
  if ((bytes[0] & 0x02) != 0) return "locally administered address";
  return nullptr;
}

}  // namespace fingerprint
