// File access below a configurable root, so the Linux readers run unchanged over this
// machine ("/") or over a fixture tree that models another machine's /sys, /proc, /etc.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fingerprint {

enum class ReadStatus { Ok, Absent, Denied, Error };

struct FileRead {
  ReadStatus status = ReadStatus::Absent;
  std::string text;  // raw bytes (binary-safe: vpd_pg80 is binary)
  std::string error;  // strerror text for Denied / Error
};

class RootedFs {
 public:
  explicit RootedFs(const std::string& root);

  bool isLive() const { return live_; }
  // `abs` is an absolute path as seen from inside the root ("/sys/class/net").
  std::string hostPath(const std::string& abs) const;

  FileRead read(const std::string& abs, size_t maxBytes = 64 * 1024) const;
  // First line of a small text file, padding trimmed; empty unless status is Ok.
  FileRead readLine(const std::string& abs) const;
  bool exists(const std::string& abs) const;

  // Readers that remember answers on the live root (native/linux/remembered.cc says why each
  // is safe); over a fixture root they read every time, as tests rewrite fixture files.
  //
  // The same three as above, for files whose answer cannot change while this process lives
  // (each caller says why): the first Ok or Absent answer is kept; Denied and Error are asked
  // again (privileges change, EIO can pass).
  FileRead readFixed(const std::string& abs, size_t maxBytes = 64 * 1024) const;
  FileRead readLineFixed(const std::string& abs) const;
  bool existsFixed(const std::string& abs) const;
  // readLine() of a sysfs attribute that its device fixes for its life but answers slowly (a
  // virtio-blk serial is a request to the device): kept while the attribute is the same sysfs
  // node (same inode), since a device that replaces it at the same path has new nodes.
  FileRead readLineOfDevice(const std::string& abs) const;
  // /proc/self/mountinfo: kept while the kernel reports no mount change on an open descriptor
  // (poll(2) POLLPRI, proc(5)) and the process's root and mount namespace stay the same.
  FileRead readMountinfo() const;
  // Entry names, sorted, without "." and "..". Empty if the directory is missing.
  std::vector<std::string> list(const std::string& absDir) const;
  // Follows symlinks; returns the canonical path inside the root, or "" if it does not
  // exist or escapes the root (a fixture link must never reach the host's files).
  std::string resolve(const std::string& abs) const;

 private:
  std::string root_;      // without trailing slash; "" for "/"
  bool live_;
  std::string realRoot_;  // canonical root, "" for "/"
};

// The rest of an open file, up to maxBytes; with untilNewline it stops at the first line end.
FileRead readDescriptor(int fd, size_t maxBytes, bool untilNewline);

std::string parentPath(const std::string& path);
std::string baseName(const std::string& path);

}  // namespace fingerprint
