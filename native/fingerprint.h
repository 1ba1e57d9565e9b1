// Plain C++ data shared by every collector and the N-API surface.
// Nothing here knows about N-API: the collectors fill these structs on a worker thread,
// and only native/addon.cc turns them into JS values on the main thread.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace fingerprint {

// The component ids of docs/fingerprint-design.md#component-catalogue; the JS side has the same list.
constexpr const char* kMachineId = "os.machineId";
constexpr const char* kSystemUuid = "hw.systemUuid";
constexpr const char* kBoardSerial = "hw.boardSerial";
constexpr const char* kBootDiskSerial = "disk.bootSerial";
constexpr const char* kMacs = "net.macs";
constexpr const char* kCpuSignature = "cpu.signature";
constexpr const char* kModel = "hw.model";

const std::vector<std::string>& allComponentIds();

enum class Status { Ok, Absent, Denied, Junk, Unsupported, Error };
const char* statusName(Status status);

struct Component {
  Status status = Status::Absent;
  std::string value;                // single-valued components
  std::vector<std::string> values;  // set components (net.macs), sorted
  bool isSet = false;
  std::string detail;

  static Component ok(std::string value, std::string detail = {});
  static Component okSet(std::vector<std::string> values, std::string detail = {});
  static Component make(Status status, std::string detail);
};

struct Env {
  bool virtualized = false;
  std::string hypervisorVendor;  // short name: kvm, vmware, microsoft, xen, ...; empty if unknown
  bool container = false;
  std::string containerRuntime;  // docker, podman, kubernetes, lxc, ...; empty if unknown
  // What tells this container from another started from the same image (the per-container source
  // of its /etc/hostname mount); empty if unknown. Never an id by itself: the client keys it.
  std::string containerId;
  std::string cloud;             // aws, gcp, azure, ...; empty if not recognised
  std::vector<std::string> evidence;  // what led to the flags above, for humans
};

struct CpuInfo {
  bool present = false;
  std::string vendor;  // GenuineIntel, AuthenticAMD, Apple, ...
  unsigned family = 0;
  unsigned model = 0;
  unsigned stepping = 0;
  std::string brand;
  // CPUID leaf 1 EDX:EAX as 16 upper-case hex digits: Windows' Win32_Processor.ProcessorId,
  // which the marketplace deviceFingerprint example uses as "CPU serial".
  std::string processorId;
  bool hypervisorBit = false;
  std::string hypervisorSignature;  // raw CPUID 0x40000000 vendor, e.g. KVMKVMKVM
};

// One physical disk below the root file system (several for RAID / multi-disk LVM).
struct DiskInfo {
  std::string name;  // nvme0n1, sda, vda, PhysicalDrive0, disk0
  std::string bus;   // nvme, scsi, virtio, mmc, ...
  std::string model;
  std::string serial;  // accepted (non-junk) serial, normalised; empty if none
  std::string wwid;    // accepted WWN / EUI / NGUID, normalised; empty if none
};

struct Hardware {
  CpuInfo cpu;
  std::vector<DiskInfo> bootDisks;
};

struct Fingerprint {
  std::map<std::string, Component> components;
  Env env;
  Hardware hardware;
};

struct Options {
  // File-system root for the sysfs/procfs readers ("/" = this machine). Linux only.
  std::string root = "/";
  // Component ids to collect; empty = all.
  std::set<std::string> include;

  bool wants(const std::string& id) const { return include.empty() || include.count(id) > 0; }
  bool isLiveRoot() const { return root == "/"; }
};

// Implemented once per OS (native/linux, native/mac, native/win). Never throws for
// machine conditions: everything that can go wrong is a Component status.
Fingerprint collect(const Options& options);

}  // namespace fingerprint
