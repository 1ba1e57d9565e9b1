#include <windows.h>

#include "../common/junk.h"
#include "readers.h"

namespace fingerprint {

std::string narrow(const wchar_t* wide, size_t length) {
  if (length == 0) return {};
  const int bytes = WideCharToMultiByte(CP_UTF8, 0, wide, static_cast<int>(length), nullptr, 0, nullptr, nullptr);
  if (bytes <= 0) return {};
  std::string out(static_cast<size_t>(bytes), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide, static_cast<int>(length), &out[0], bytes, nullptr, nullptr);
  return out;
}

std::string windowsErrorText(unsigned long code) { return "Windows error " + std::to_string(code); }

namespace {

// Reads a REG_SZ from HKLM in the 64-bit view. Returns the Win32 error code.
LSTATUS readHklmString(const wchar_t* subKey, const wchar_t* name, std::string& out) {
  HKEY key = nullptr;
  LSTATUS status = RegOpenKeyExW(HKEY_LOCAL_MACHINE, subKey, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);
  if (status != ERROR_SUCCESS) return status;
  wchar_t buffer[256];
  DWORD size = sizeof buffer;
  status = RegGetValueW(key, nullptr, name, RRF_RT_REG_SZ, nullptr, buffer, &size);
  RegCloseKey(key);
  if (status == ERROR_SUCCESS) {
    size_t chars = size / sizeof(wchar_t);
    while (chars > 0 && buffer[chars - 1] == L'\0') --chars;
    out = narrow(buffer, chars);
  }
  return status;
}

}  // namespace

Component readMachineGuid() {
  std::string raw;
  const LSTATUS status = readHklmString(L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid", raw);
  if (status == ERROR_FILE_NOT_FOUND) return Component::make(Status::Absent, "MachineGuid is not set");
  if (status == ERROR_ACCESS_DENIED) return Component::make(Status::Denied, "MachineGuid: access denied");
  if (status != ERROR_SUCCESS) return Component::make(Status::Error, "MachineGuid: " + windowsErrorText(status));
  const std::string id = normalizeHexId(raw);
  if (isJunkUuid(id)) return Component::make(Status::Junk, "MachineGuid is a placeholder");
  return Component::ok(id, "HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid");
}

CpuInfo readCpuFromRegistry() {
  CpuInfo cpu;
  const wchar_t* key = L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0";
  if (readHklmString(key, L"ProcessorNameString", cpu.brand) == ERROR_SUCCESS) cpu.present = true;
  readHklmString(key, L"VendorIdentifier", cpu.vendor);
  cpu.brand = collapsePadding(cpu.brand);
  cpu.vendor = collapsePadding(cpu.vendor);
  return cpu;
}

bool isWindowsContainer() {
  HKEY key = nullptr;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"SYSTEM\\CurrentControlSet\\Control", 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY,
                    &key) != ERROR_SUCCESS) {
    return false;
  }
  const bool present = RegQueryValueExW(key, L"ContainerType", nullptr, nullptr, nullptr, nullptr) == ERROR_SUCCESS;
  RegCloseKey(key);
  return present;
}

}  // namespace fingerprint
