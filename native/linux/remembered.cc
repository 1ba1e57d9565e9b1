// The RootedFs readers that remember answers between collections, on the live root only. A
// collection runs each time it is asked for (a heartbeat may ask every few seconds), so what
// cannot change under a running process is not read again; everything that can is, or is
// checked with a cheaper question whose answer changes whenever it does. What is kept forever
// is about the machine (firmware tables, the hypervisor, the process's own initial
// environment), so it stays true if the process later changes its root. The costs are in
// docs/fingerprint.md#measured. Shared by every worker thread, under one mutex.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "rooted_fs.h"

namespace fingerprint {

namespace {

constexpr size_t kMountinfoMax = 1024 * 1024;

// Which file (device and inode) a name or a descriptor stands for.
struct Identity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const Identity& other) const { return device == other.device && inode == other.inode; }
};

bool identify(const std::string& path, Identity& out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  out = Identity{st.st_dev, st.st_ino};
  return true;
}

bool identifyDescriptor(int fd, Identity& out) {
  struct stat st;
  // The system call, not glibc's fstat(): that symbol needs glibc 2.33 (native/prebuild/glibc_floor.cc).
  if (::syscall(SYS_fstat, fd, &st) != 0) return false;
  out = Identity{st.st_dev, st.st_ino};
  return true;
}

struct NodeAnswer {
  Identity node;
  FileRead read;
};

// The mount table as last read, with the descriptor that tells whether it changed since.
struct Mountinfo {
  int fd = -1;
  Identity file, root, namespace_;
  FileRead read;
};

struct Remembered {
  std::mutex mutex;
  std::map<std::string, FileRead> files;  // key: kind + path
  std::map<std::string, bool> exists;
  std::map<std::string, NodeAnswer> nodes;
  Mountinfo mountinfo;
};

Remembered& remembered() {
  static Remembered* answers = new Remembered();  // never destroyed: a worker may still use it at exit
  return *answers;
}

template <typename Read>
FileRead rememberRead(const std::string& key, Read read) {
  Remembered& answers = remembered();
  {
    std::lock_guard<std::mutex> lock(answers.mutex);
    const auto found = answers.files.find(key);
    if (found != answers.files.end()) return found->second;
  }
  FileRead result = read();
  if (result.status == ReadStatus::Ok || result.status == ReadStatus::Absent) {
    std::lock_guard<std::mutex> lock(answers.mutex);
    answers.files.emplace(key, result);
  }
  return result;
}

}  // namespace

FileRead RootedFs::readFixed(const std::string& abs, size_t maxBytes) const {
  if (!live_) return read(abs, maxBytes);
  return rememberRead("read " + abs, [&] { return read(abs, maxBytes); });
}

FileRead RootedFs::readLineFixed(const std::string& abs) const {
  if (!live_) return readLine(abs);
  return rememberRead("line " + abs, [&] { return readLine(abs); });
}

bool RootedFs::existsFixed(const std::string& abs) const {
  if (!live_) return exists(abs);
  Remembered& answers = remembered();
  {
    std::lock_guard<std::mutex> lock(answers.mutex);
    const auto found = answers.exists.find(abs);
    if (found != answers.exists.end()) return found->second;
  }
  struct stat st;
  const bool there = ::stat(hostPath(abs).c_str(), &st) == 0;
  if (there || errno == ENOENT || errno == ENOTDIR) {
    std::lock_guard<std::mutex> lock(answers.mutex);
    answers.exists.emplace(abs, there);
  }
  return there;
}

FileRead RootedFs::readLineOfDevice(const std::string& abs) const {
  Identity node;
  if (!live_ || !identify(hostPath(abs), node)) return readLine(abs);
  Remembered& answers = remembered();
  {
    std::lock_guard<std::mutex> lock(answers.mutex);
    const auto found = answers.nodes.find(abs);
    if (found != answers.nodes.end() && found->second.node == node) return found->second.read;
  }
  FileRead result = readLine(abs);
  if (result.status == ReadStatus::Ok) {
    std::lock_guard<std::mutex> lock(answers.mutex);
    answers.nodes[abs] = NodeAnswer{node, result};
  }
  return result;
}

// The kernel marks an open mountinfo descriptor (POLLPRI) when a mount, unmount or remount
// changes its mount namespace (fs/proc_namespace.c, proc(5)); asking poll() is far cheaper than
// reading it (docs/performance.md#fingerprint-collection). What poll() cannot see is checked too: the descriptor is still ours (a process
// may close descriptors it did not open, and the number be reused), and the process's root and
// mount namespace, which the descriptor captured when it was opened, are still the same.
FileRead RootedFs::readMountinfo() const {
  if (!live_) return read("/proc/self/mountinfo", kMountinfoMax);
  Remembered& answers = remembered();
  std::lock_guard<std::mutex> lock(answers.mutex);
  Mountinfo& cached = answers.mountinfo;
  Identity root, namespace_, file;
  const bool placed = identify("/", root) && identify("/proc/self/ns/mnt", namespace_);
  const bool ours = cached.fd >= 0 && identifyDescriptor(cached.fd, file) && file == cached.file;
  if (ours && placed && root == cached.root && namespace_ == cached.namespace_) {
    struct pollfd changed = {cached.fd, POLLPRI, 0};
    if (::poll(&changed, 1, 0) == 0) return cached.read;
    // Changed: the same descriptor reads the new table (and poll() has taken note of it).
    if (::lseek(cached.fd, 0, SEEK_SET) == 0) {
      cached.read = readDescriptor(cached.fd, kMountinfoMax, false);
      if (cached.read.status == ReadStatus::Ok) return cached.read;
    }
  }
  if (ours) ::close(cached.fd);  // a descriptor that is not ours any more is left alone
  cached.fd = -1;
  const int fd = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return read("/proc/self/mountinfo", kMountinfoMax);  // the same failure, as a FileRead
  FileRead result = readDescriptor(fd, kMountinfoMax, false);
  if (result.status == ReadStatus::Ok && placed && identifyDescriptor(fd, cached.file)) {
    cached.fd = fd;
    cached.root = root;
    cached.namespace_ = namespace_;
    cached.read = result;
  } else {
    ::close(fd);
  }
  return result;
}

}  // namespace fingerprint
