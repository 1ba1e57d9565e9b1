#include "junk.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace fingerprint {

namespace {

bool isPadding(char c) { return c == '\0' || std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

bool allSameChar(const std::string& s) {
  std::string compact;
  for (char c : s) {
    if (c != '-' && c != ':' && c != ' ' && c != '_' && c != '.') compact += c;
  }
  return compact.empty() || std::all_of(compact.begin(), compact.end(), [&](char c) { return c == compact[0]; });
}

}  // namespace

std::string collapsePadding(const std::string& raw) {
  std::string out;
  bool pendingSpace = false;
  for (char c : raw) {
    if (isPadding(c)) {
      pendingSpace = !out.empty();
      continue;
    }
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    out += c;
  }
  return out;
}

std::string normalizeHexId(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    if (isPadding(c) || c == '{' || c == '}') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string normalizeSerial(const std::string& raw) { return upper(collapsePadding(raw)); }

bool isJunkUuid(const std::string& normalized) {
  // 03000200-…-0009 is the AMI / Gigabyte "not set" default; all-0 / all-F mean unset.
  return normalized.empty() || allSameChar(normalized) || normalized == "03000200-0400-0500-0006-000700080009" ||
         normalized == "notsettable" || normalized == "notpresent";
}

bool isJunkSerial(const std::string& normalized) {
  static const std::set<std::string> junk = {
      "TO BE FILLED BY O.E.M.", "TO BE FILLED BY O.E.M", "DEFAULT STRING", "SYSTEM SERIAL NUMBER",
      "NOT SPECIFIED",          "NOT APPLICABLE",        "NOT AVAILABLE",  "NONE",
      "N/A",                    "0123456789",            "123456789",      "BASE BOARD SERIAL NUMBER",
      "CHASSIS SERIAL NUMBER",  "SERIAL",                "OEM",            "O.E.M.",
      "INVALID",                "UNKNOWN",               "NULL",           "XXXXXXXXXX",
  };
  return normalized.empty() || allSameChar(normalized) || junk.count(normalized) > 0;
}

bool isJunkDiskId(const std::string& normalized) {
  // "OVERLAYBLK" is the virtio-blk serial every VM of one Firecracker-based sandbox reports:
  // constant across machines, so it names none (docs/fingerprint-design.md#junk-values).
  return isJunkSerial(upper(normalized)) || upper(normalized) == "OVERLAYBLK";
}

bool isJunkName(const std::string& collapsed) {
  return isJunkSerial(upper(collapsed)) || upper(collapsed) == "SYSTEM PRODUCT NAME" ||
         upper(collapsed) == "SYSTEM MANUFACTURER" || upper(collapsed) == "BASE BOARD PRODUCT NAME";
}

bool isValidMachineId(const std::string& normalized) {
  if (normalized.size() != 32) return false;
  if (!std::all_of(normalized.begin(), normalized.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return false;
  }
  return !allSameChar(normalized);
}

}  // namespace fingerprint
