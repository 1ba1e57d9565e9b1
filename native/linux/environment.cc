// The env report on Linux: flags, never mixed into the ids
// (docs/fingerprint-design.md#virtualisation-and-container-report).
#include "../common/cpuid.h"
#include "mountinfo.h"
#include "readers.h"

namespace fingerprint {

namespace {

bool contains(const std::string& haystack, const char* needle) { return haystack.find(needle) != std::string::npos; }

// Runtime named by a cgroup path or a root-mount source / option string, or "".
std::string runtimeFromText(const std::string& text) {
  if (contains(text, "kubepods") || contains(text, "kubelet")) return "kubernetes";
  if (contains(text, "libpod") || contains(text, "/containers/storage/")) return "podman";
  if (contains(text, "docker")) return "docker";
  if (contains(text, "containerd")) return "containerd";
  if (contains(text, "/lxc/") || contains(text, "lxc.payload")) return "lxc";
  return {};
}

void noteContainer(Env& env, const std::string& runtime, const std::string& evidence) {
  env.container = true;
  env.evidence.push_back(evidence);
  // Kubernetes runs on top of docker/containerd: the orchestrator is the more useful name.
  if (env.containerRuntime.empty() || runtime == "kubernetes") env.containerRuntime = runtime;
}

struct Mounts {
  std::string rootLine;     // the last mount on "/"
  std::string hostnameRoot; // the source path of the last mount on "/etc/hostname"
};

Mounts readMounts(const RootedFs& fs) {
  Mounts mounts;
  const FileRead file = fs.readMountinfo();
  if (file.status != ReadStatus::Ok) return mounts;
  forEachMount(file.text, [&](const MountEntry& entry) {
    if (entry.mountPoint == "/") mounts.rootLine = entry.line;
    // Docker, podman and Kubernetes bind-mount a file of the container's own (or its pod's) here:
    // /var/lib/docker/containers/<id>/hostname, …/overlay-containers/<id>/userdata/hostname, …/sandboxes/<id>/hostname.
    if (entry.mountPoint == "/etc/hostname") mounts.hostnameRoot = entry.root;
  });
  return mounts;
}

void detectContainer(const RootedFs& fs, Env& env) {
  if (fs.exists("/.dockerenv")) noteContainer(env, "docker", "/.dockerenv");
  if (fs.exists("/run/.containerenv")) noteContainer(env, "podman", "/run/.containerenv");
  // systemd's own detection result, world-readable ("docker", "lxc", "systemd-nspawn", ...).
  const FileRead systemd = fs.readLine("/run/systemd/container");
  if (systemd.status == ReadStatus::Ok && !systemd.text.empty()) {
    noteContainer(env, systemd.text, "/run/systemd/container: " + systemd.text);
  }
  // cgroup v1 paths name the runtime; under cgroup v2 this is just "0::/", hence mountinfo.
  const FileRead cgroup = fs.read("/proc/1/cgroup");
  if (cgroup.status == ReadStatus::Ok) {
    const std::string runtime = runtimeFromText(cgroup.text);
    if (!runtime.empty()) noteContainer(env, runtime, "/proc/1/cgroup mentions " + runtime);
  }
  // Only the root mount: a host running containers lists their overlays too.
  const Mounts mounts = readMounts(fs);
  const std::string mountRuntime = runtimeFromText(mounts.rootLine);
  if (!mountRuntime.empty()) noteContainer(env, mountRuntime, "root mount is a " + mountRuntime + " overlay");
  // The initial environment (read from procfs: getenv() on a worker thread would race setenv).
  // execve() sets it once for the life of the process, hence readFixed.
  const FileRead environ = fs.readFixed("/proc/self/environ", 1024 * 1024);
  static const std::string kVariable("\0KUBERNETES_SERVICE_HOST=", 25);
  if (environ.status == ReadStatus::Ok && (std::string(1, '\0') + environ.text).find(kVariable) != std::string::npos) {
    noteContainer(env, "kubernetes", "KUBERNETES_SERVICE_HOST is set");
  }
  if (env.container && mounts.hostnameRoot.size() > 1) env.containerId = mounts.hostnameRoot;
}

}  // namespace

Env readEnvironment(const RootedFs& fs, const CpuInfo& cpu, const DmiReading& dmi) {
  Env env;
  noteCpuidHypervisor(cpu, fs.isLive() ? "CPUID hypervisor bit" : "cpuinfo hypervisor flag", env);
  // Filled by built-in Xen code at boot; the hypervisor does not change under a running kernel.
  const FileRead xen = fs.readLineFixed("/sys/hypervisor/type");
  if (xen.status == ReadStatus::Ok && !xen.text.empty()) {
    env.virtualized = true;
    if (env.hypervisorVendor.empty()) env.hypervisorVendor = xen.text;
    env.evidence.push_back("/sys/hypervisor/type: " + xen.text);
  }
  if (dmi.present) {
    noteSmbiosHypervisor(dmi.names, env);
    env.cloud = cloudFromSmbios(dmi.names);
  }
  detectContainer(fs, env);
  return env;
}

}  // namespace fingerprint
