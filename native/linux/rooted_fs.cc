#include "rooted_fs.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>

#include "../common/junk.h"

namespace fingerprint {

namespace {

std::string withoutTrailingSlash(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

std::string realPath(const char* path) {
  char* resolved = ::realpath(path, nullptr);
  if (resolved == nullptr) return {};
  std::string out(resolved);
  std::free(resolved);
  return out;
}

// realpath() calls readlink() on every component of the path (ten or more syscalls for a sysfs
// device link); the kernel names an O_PATH descriptor's file in one readlink() of its /proc
// entry. open() fails exactly where realpath() does (a missing or dangling component, no search
// permission); realpath() remains for a system without /proc.
std::string canonical(const std::string& path) {
  const char* name = path.empty() ? "/" : path.c_str();
  const int fd = ::open(name, O_PATH | O_CLOEXEC);
  if (fd < 0) return {};
  char link[48];
  std::snprintf(link, sizeof link, "/proc/thread-self/fd/%d", fd);
  char target[PATH_MAX];
  const ssize_t length = ::readlink(link, target, sizeof target);
  ::close(fd);
  static const std::string kDeleted = " (deleted)";
  if (length > 0 && static_cast<size_t>(length) < sizeof target && target[0] == '/') {
    std::string out(target, static_cast<size_t>(length));
    const bool deleted = out.size() > kDeleted.size() && out.compare(out.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0;
    if (!deleted) return out;
  }
  return realPath(name);
}

FileRead openFailure(int err) {
  FileRead result;
  result.status = (err == ENOENT || err == ENOTDIR) ? ReadStatus::Absent
                  : (err == EACCES || err == EPERM) ? ReadStatus::Denied
                                                    : ReadStatus::Error;
  result.error = std::strerror(err);
  return result;
}

FileRead readFile(const std::string& path, size_t maxBytes, bool untilNewline) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return openFailure(errno);
  FileRead result = readDescriptor(fd, maxBytes, untilNewline);
  ::close(fd);
  return result;
}

}  // namespace

FileRead readDescriptor(int fd, size_t maxBytes, bool untilNewline) {
  FileRead result;
  char buffer[4096];
  while (result.text.size() < maxBytes) {
    const ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, maxBytes - result.text.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      // sysfs attributes the device cannot answer fail at read time (EIO, ENODEV, EINVAL).
      result.status = (err == EACCES || err == EPERM) ? ReadStatus::Denied : ReadStatus::Error;
      result.error = std::strerror(err);
      result.text.clear();
      return result;
    }
    if (n == 0) break;
    result.text.append(buffer, static_cast<size_t>(n));
    // The one-line sysfs attributes are whole at their line end: no read() just to see EOF.
    if (untilNewline && std::memchr(buffer, '\n', static_cast<size_t>(n)) != nullptr) break;
  }
  result.status = ReadStatus::Ok;
  return result;
}

RootedFs::RootedFs(const std::string& root)
    : root_(withoutTrailingSlash(root)), live_(root_.empty()) {
  if (!live_) realRoot_ = withoutTrailingSlash(canonical(root_));
}

std::string RootedFs::hostPath(const std::string& abs) const { return root_ + abs; }

FileRead RootedFs::read(const std::string& abs, size_t maxBytes) const { return readFile(hostPath(abs), maxBytes, false); }

FileRead RootedFs::readLine(const std::string& abs) const {
  FileRead result = readFile(hostPath(abs), 4096, true);
  if (result.status == ReadStatus::Ok) {
    const size_t newline = result.text.find('\n');
    if (newline != std::string::npos) result.text.resize(newline);
    result.text = collapsePadding(result.text);
  }
  return result;
}

bool RootedFs::exists(const std::string& abs) const {
  struct stat st;
  return ::stat(hostPath(abs).c_str(), &st) == 0;
}

std::vector<std::string> RootedFs::list(const std::string& absDir) const {
  std::vector<std::string> names;
  // getdents64 into a stack buffer: opendir() would add an fstat() and a 32 KiB allocation.
  const int fd = ::open(hostPath(absDir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return names;
  struct Entry {  // struct linux_dirent64 (getdents(2))
    uint64_t inode;
    int64_t offset;
    unsigned short length;
    unsigned char type;
    char name[1];
  };
  alignas(Entry) char buffer[4096];
  for (;;) {
    const long got = ::syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (long at = 0; at < got;) {
      const auto* entry = reinterpret_cast<const Entry*>(buffer + at);
      const std::string name = entry->name;
      if (name != "." && name != "..") names.push_back(name);
      at += entry->length;
    }
  }
  ::close(fd);
  std::sort(names.begin(), names.end());
  return names;
}

std::string RootedFs::resolve(const std::string& abs) const {
  const std::string real = canonical(hostPath(abs));
  if (real.empty()) return {};
  if (live_) return real;
  if (real == realRoot_) return "/";
  if (real.compare(0, realRoot_.size() + 1, realRoot_ + "/") != 0) return {};
  return real.substr(realRoot_.size());
}

std::string parentPath(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string baseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace fingerprint
