// The OS-independent MAC rules (docs/fingerprint-design.md#mac-rules, rules 1 and 4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fingerprint {

// "aa:bb:cc:dd:ee:ff", lower case.
std::string formatMac(const uint8_t* bytes, size_t length);

// Parses "aa:bb:cc:dd:ee:ff" (any case, ':' or '-'); false if it is not 6 bytes.
bool parseMac(const std::string& text, uint8_t out[6]);

// Why a 6-byte address cannot identify hardware, or nullptr if it can: all-zero, multicast
// (I/G bit), or locally administered (U/L bit: VMs, containers, randomised addresses).
const char* macRejection(const uint8_t bytes[6]);

}  // namespace fingerprint
