// Normalising raw firmware / driver strings and rejecting the placeholder values that
// firmware vendors ship instead of real identities (docs/fingerprint-design.md#junk-values).
#pragma once

#include <string>

namespace fingerprint {

// Trims whitespace and NULs at both ends and collapses inner runs of them to one space
// (ATA IDENTIFY and SMBIOS strings come space-padded).
std::string collapsePadding(const std::string& raw);

// Lower-cased, `{}`-stripped, padding-free id (UUIDs, MachineGuid, machine-id).
std::string normalizeHexId(const std::string& raw);

// Upper-cased serial with padding collapsed.
std::string normalizeSerial(const std::string& raw);

// Junk after normalisation: all-zero / all-F UUIDs, the AMI/Gigabyte default UUID.
bool isJunkUuid(const std::string& normalized);

// Junk after normalisation: "To Be Filled By O.E.M.", "Default string", "0", ...
bool isJunkSerial(const std::string& normalized);

// Disk serials and WWNs: the SMBIOS junk list plus values that are constant across
// machines (one repeated character, known VMM constants).
bool isJunkDiskId(const std::string& normalized);

// SMBIOS names (vendor / product / board): placeholders that name nothing.
bool isJunkName(const std::string& collapsed);

// /etc/machine-id rules (machine-id(5)): 32 lower-case hex digits, not all zero.
bool isValidMachineId(const std::string& normalized);

}  // namespace fingerprint
