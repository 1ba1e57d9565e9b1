// Linked into the win32 prebuild only (native/prebuild/prebuild.js). The addon imports the
// Node-API functions from "node.exe" through a delay-load import library; this hook answers
// that import with the running executable, whatever its name, so the same DLL loads in
// node.exe, a renamed node.exe and Electron (node-gyp links its own hook for the same reason:
// node-gyp/src/win_delay_load_hook.cc). See docs/fingerprint.md#prebuilt-binaries.
#include <windows.h>

#include <delayimp.h>
#include <string.h>

namespace {

FARPROC WINAPI loadHostExecutable(unsigned event, PDelayLoadInfo info) {
  if (event != dliNotePreLoadLibrary || _stricmp(info->szDll, "node.exe") != 0) return nullptr;
  // Node built as a DLL (vcbuild.bat dll) exports Node-API from libnode.dll instead.
  HMODULE host = GetModuleHandleW(L"libnode.dll");
  if (host == nullptr) host = GetModuleHandleW(nullptr);
  return reinterpret_cast<FARPROC>(host);
}

}  // namespace

extern "C" {
PfnDliHook __pfnDliNotifyHook2 = loadHostExecutable;
}
