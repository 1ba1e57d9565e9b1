#include "rooted_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "../common/junk.h"

namespace fingerprint {

namespace {

std::string withoutTrailingSlash(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

std::string canonical(const std::string& path) {
  char* resolved = ::realpath(path.empty() ? "/" : path.c_str(), nullptr);
  if (resolved == nullptr) return {};
  std::string out(resolved);
  std::free(resolved);
  return out;
}

}  // namespace

RootedFs::RootedFs(const std::string& root)
    : root_(withoutTrailingSlash(root)), realRoot_(withoutTrailingSlash(canonical(root_))), live_(root_.empty()) {}

std::string RootedFs::hostPath(const std::string& abs) const { return root_ + abs; }

FileRead RootedFs::read(const std::string& abs, size_t maxBytes) const {
  FileRead result;
  const int fd = ::open(hostPath(abs).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    result.status = (err == ENOENT || err == ENOTDIR) ? ReadStatus::Absent
                    : (err == EACCES || err == EPERM) ? ReadStatus::Denied
                                                      : ReadStatus::Error;
    result.error = std::strerror(err);
    return result;
  }
  char buffer[4096];
  while (result.text.size() < maxBytes) {
    const ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, maxBytes - result.text.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      // sysfs attributes the device cannot answer fail at read time (EIO, ENODEV, EINVAL).
      result.status = (err == EACCES || err == EPERM) ? ReadStatus::Denied : ReadStatus::Error;
      result.error = std::strerror(err);
      result.text.clear();
      return result;
    }
    if (n == 0) break;
    result.text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  result.status = ReadStatus::Ok;
  return result;
}

FileRead RootedFs::readLine(const std::string& abs) const {
  FileRead result = read(abs, 4096);
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
  DIR* dir = ::opendir(hostPath(absDir).c_str());
  if (dir == nullptr) return names;
  while (const struct dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
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
