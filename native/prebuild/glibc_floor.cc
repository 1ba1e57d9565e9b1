// Linked into the Linux prebuilds only, with -Wl,--wrap=stat,--wrap=pthread_once
// (native/prebuild/prebuild.js). Debian 12's toolchain binds these symbols to the glibc versions
// that introduced them (stat 2.33, pthread_once 2.34, libstdc++'s __libc_single_threaded 2.32),
// which would refuse to load on the older glibc many customers run. Each one is replaced by an
// equivalent that every glibc since x86-64's and arm64's first release has, so the binary needs
// no newer glibc than Node itself (docs/fingerprint.md#glibc).
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define GLIBC_BASE "GLIBC_2.17"
#else
#error "native/prebuild/glibc_floor.cc: no base glibc version known for this architecture"
#endif

extern "C" {

// libstdc++ reads this flag to skip atomic operations in a single-threaded process. Our own
// hidden copy always says "maybe threaded", which is correct, only a little slower.
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;

// glibc 2.33 turned stat into a real symbol; the system call is what it does underneath, and
// glibc's struct stat is the kernel's on x86-64 and arm64.
__attribute__((visibility("hidden"))) int __wrap_stat(const char* path, struct stat* out) {
  return static_cast<int>(syscall(SYS_newfstatat, AT_FDCWD, path, out, 0));
}

// glibc 2.34 moved pthread_once into libc under a new version; the original version is still
// exported (from libpthread before 2.34, which Node links, and from libc after).
int glibc_base_pthread_once(pthread_once_t* once, void (*init)());
__asm__(".symver glibc_base_pthread_once, pthread_once@" GLIBC_BASE);
__attribute__((visibility("hidden"))) int __wrap_pthread_once(pthread_once_t* once, void (*init)()) {
  return glibc_base_pthread_once(once, init);
}

}  // extern "C"
