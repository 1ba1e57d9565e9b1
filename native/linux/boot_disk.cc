// disk.bootSerial on Linux (docs/fingerprint-design.md#linux): find the block device behind "/",
// walk down to the physical disk(s) through partitions, dm (LVM, LUKS) and md RAID, then read
// each disk's WWN / serial from sysfs, falling back to the udev database. Every file used is
// world-readable; no ioctl on /dev nodes (those need root or the disk group).
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "../common/junk.h"
#include "mountinfo.h"
#include "readers.h"

namespace fingerprint {

namespace {

constexpr int kMaxStackDepth = 8;  // partition -> dm-crypt -> LVM -> md -> disk is 4; cycles are a bug

std::string devNumber(unsigned major, unsigned minor) { return std::to_string(major) + ":" + std::to_string(minor); }

// mountinfo(5) escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountField(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && std::isdigit(static_cast<unsigned char>(field[i + 1]))) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

struct RootMount {
  std::string devNumber;  // "maj:min"
  std::string source;     // "/dev/nvme0n1p2", "overlay", ...
  std::string fsType;
};

// The last mount on "/" is the visible one (later mounts stack over earlier ones).
bool findRootMount(const RootedFs& fs, RootMount& out) {
  const FileRead file = fs.readMountinfo();
  if (file.status != ReadStatus::Ok) return false;
  bool found = false;
  forEachMount(file.text, [&](const MountEntry& entry) {
    if (unescapeMountField(std::string(entry.mountPoint)) != "/") return;
    out.devNumber = entry.number;
    out.fsType = entry.fsType;
    out.source = unescapeMountField(std::string(entry.source));
    found = true;
  });
  return found;
}

// /sys/dev/block/<maj:min> -> canonical sysfs directory of that block device, or "".
std::string blockDirByNumber(const RootedFs& fs, const std::string& number) {
  return number.empty() ? std::string() : fs.resolve("/sys/dev/block/" + number);
}

// "/dev/mapper/vg-root", "/dev/sda2", "/dev/dm-0" -> sysfs directory, or "".
std::string blockDirBySource(const RootedFs& fs, const std::string& source) {
  if (source.compare(0, 5, "/dev/") != 0) return {};
  if (source.compare(0, 12, "/dev/mapper/") == 0) {
    const std::string wanted = source.substr(12);
    for (const std::string& name : fs.list("/sys/block")) {
      if (name.compare(0, 3, "dm-") != 0) continue;
      const FileRead dmName = fs.readLine("/sys/block/" + name + "/dm/name");
      if (dmName.status == ReadStatus::Ok && dmName.text == wanted) return fs.resolve("/sys/block/" + name);
    }
    return {};
  }
  return fs.resolve("/sys/class/block/" + baseName(source));
}

std::string rootBlockDir(const RootedFs& fs, std::string& why) {
  if (fs.isLive()) {
    // st_dev names the device of the root we actually see (chroots included).
    struct stat st;
    if (::stat("/", &st) == 0) {
      const std::string dir = blockDirByNumber(fs, devNumber(major(st.st_dev), minor(st.st_dev)));
      if (!dir.empty()) return dir;
    }
  }
  // btrfs subvolumes and some dm setups report an anonymous st_dev; mountinfo names the source.
  RootMount mount;
  if (!findRootMount(fs, mount)) {
    why = "cannot read /proc/self/mountinfo";
    return {};
  }
  std::string dir = blockDirByNumber(fs, mount.devNumber);
  if (dir.empty()) dir = blockDirBySource(fs, mount.source);
  if (dir.empty()) why = "root file system is " + mount.fsType + " on " + mount.source + ", not a block device";
  return dir;
}

// Walks from a block device down to the disks that hold it.
void collectDisks(const RootedFs& fs, const std::string& dir, int depth, std::set<std::string>& disks) {
  if (dir.empty() || depth > kMaxStackDepth) return;
  if (fs.exists(dir + "/partition")) {
    collectDisks(fs, parentPath(dir), depth + 1, disks);
    return;
  }
  const std::vector<std::string> slaves = fs.list(dir + "/slaves");
  if (!slaves.empty()) {
    for (const std::string& slave : slaves) collectDisks(fs, fs.resolve(dir + "/slaves/" + slave), depth + 1, disks);
    return;
  }
  disks.insert(dir);
}

std::string attributeText(const FileRead& file, bool& denied) {
  if (file.status == ReadStatus::Denied) denied = true;
  return file.status == ReadStatus::Ok ? file.text : std::string();
}

std::string readAttribute(const RootedFs& fs, const std::string& path, bool& denied) {
  return attributeText(fs.readLine(path), denied);
}

// VPD page 0x80 (unit serial number): 4-byte header, byte 3 = length, then ASCII.
std::string serialFromVpdPage80(const std::string& page) {
  if (page.size() < 4 || static_cast<unsigned char>(page[1]) != 0x80) return {};
  const size_t length = (static_cast<unsigned char>(page[2]) << 8) | static_cast<unsigned char>(page[3]);
  return collapsePadding(page.substr(4, std::min(length, page.size() - 4)));
}

// udev's database entry for a block device: "E:ID_SERIAL_SHORT=...", "E:ID_WWN=0x...".
void readUdevIds(const RootedFs& fs, const std::string& number, std::string& serial, std::string& wwn) {
  const FileRead file = fs.read("/run/udev/data/b" + number);
  if (file.status != ReadStatus::Ok) return;
  std::istringstream lines(file.text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.compare(0, 17, "E:ID_SERIAL_SHORT") == 0 && line.size() > 18) serial = line.substr(18);
    if (line.compare(0, 9, "E:ID_WWN=") == 0) wwn = line.substr(9);
  }
  // udev spells the NAA WWN "0x5000…"; the kernel's wwid spells it "naa.5000…".
  if (wwn.compare(0, 2, "0x") == 0) wwn = "naa." + wwn.substr(2);
}

std::string busOf(const std::string& name, const std::string& dir) {
  if (name.compare(0, 4, "nvme") == 0) return "nvme";
  if (name.compare(0, 2, "vd") == 0) return "virtio";
  if (name.compare(0, 3, "xvd") == 0) return "xen";
  if (name.compare(0, 6, "mmcblk") == 0) return "mmc";
  if (name.compare(0, 2, "sd") == 0) return dir.find("/usb") != std::string::npos ? "usb" : "scsi";
  if (name.compare(0, 4, "loop") == 0) return "loop";
  return "other";
}

struct DiskReading {
  DiskInfo info;
  std::string id;        // chosen identity: WWN/EUI first, then serial
  std::string rejected;  // why no identity, if none
  bool denied = false;
  bool junk = false;
};

DiskReading readDisk(const RootedFs& fs, const std::string& dir) {
  DiskReading r;
  DiskInfo& d = r.info;
  d.name = baseName(dir);
  d.bus = busOf(d.name, dir);
  std::string serial, wwid;
  if (d.bus == "nvme") {
    // The namespace's wwid (eui./nguid/nvme.) and the controller's serial (S_IRUGO).
    wwid = readAttribute(fs, dir + "/wwid", r.denied);
    serial = readAttribute(fs, dir + "/device/serial", r.denied);
    d.model = readAttribute(fs, dir + "/device/model", r.denied);
  } else if (d.bus == "scsi" || d.bus == "usb") {
    // scsi_sysfs.c: wwid from VPD 0x83, vpd_pg80 = unit serial; libata emulates both for SATA.
    wwid = readAttribute(fs, dir + "/device/wwid", r.denied);
    const FileRead page = fs.read(dir + "/device/vpd_pg80", 1024);
    if (page.status == ReadStatus::Denied) r.denied = true;
    if (page.status == ReadStatus::Ok) serial = serialFromVpdPage80(page.text);
    if (serial.empty()) serial = readAttribute(fs, dir + "/device/serial", r.denied);
    d.model = readAttribute(fs, dir + "/device/model", r.denied);
  } else if (d.bus == "virtio") {
    // Whatever the VMM passes: often empty or constant across VMs. The kernel asks the device for
    // it at every read (VIRTIO_BLK_T_GET_ID, costly in a VM: docs/performance.md#fingerprint-collection),
    // hence readLineOfDevice.
    serial = attributeText(fs.readLineOfDevice(dir + "/serial"), r.denied);
  } else if (d.bus == "mmc") {
    serial = readAttribute(fs, dir + "/device/serial", r.denied);
    d.model = readAttribute(fs, dir + "/device/name", r.denied);
  }
  if (d.bus != "loop" && (serial.empty() || wwid.empty())) {
    const FileRead number = fs.readLine(dir + "/dev");
    if (number.status == ReadStatus::Ok) {
      std::string udevSerial, udevWwn;
      readUdevIds(fs, number.text, udevSerial, udevWwn);
      if (serial.empty()) serial = udevSerial;
      if (wwid.empty()) wwid = udevWwn;
    }
  }
  // WWN / EUI / T10 ids: hex forms lower-cased, t10 keeps its vendor text.
  wwid = collapsePadding(wwid);
  if (wwid.compare(0, 4, "t10.") != 0) wwid = normalizeHexId(wwid);
  serial = normalizeSerial(serial);
  std::string rejectedValues;
  if (!wwid.empty() && isJunkDiskId(wwid)) {
    rejectedValues += " wwid '" + wwid + "'";
    wwid.clear();
  }
  if (!serial.empty() && isJunkDiskId(serial)) {
    rejectedValues += " serial '" + serial + "'";
    serial.clear();
  }
  d.serial = serial;
  d.wwid = wwid;
  r.id = !wwid.empty() ? wwid : serial;
  if (r.id.empty()) {
    r.junk = !rejectedValues.empty();
    r.rejected = d.name + " (" + d.bus + "): " +
                 (r.junk ? "placeholder" + rejectedValues
                         : d.bus == "loop" ? std::string("loop device, no hardware behind it")
                                           : std::string("no serial or WWN exposed"));
  }
  return r;
}

}  // namespace

Component readBootDiskSerial(const RootedFs& fs, std::vector<DiskInfo>& disks) {
  std::string why;
  const std::string rootDir = rootBlockDir(fs, why);
  if (rootDir.empty()) return Component::make(Status::Absent, why);
  std::set<std::string> diskDirs;
  collectDisks(fs, rootDir, 0, diskDirs);
  if (diskDirs.empty()) return Component::make(Status::Absent, "no disk below " + baseName(rootDir));

  std::vector<std::string> ids, problems, names;
  bool denied = false, junk = false;
  for (const std::string& dir : diskDirs) {
    DiskReading reading = readDisk(fs, dir);
    names.push_back(reading.info.name);
    disks.push_back(reading.info);
    if (!reading.id.empty()) {
      ids.push_back(reading.id);
    } else {
      problems.push_back(reading.rejected);
      denied = denied || reading.denied;
      junk = junk || reading.junk;
    }
  }
  std::string via = "/ on " + baseName(rootDir);
  std::string nameList;
  for (const std::string& name : names) nameList += (nameList.empty() ? "" : ",") + name;
  if (baseName(rootDir) != nameList) via += " -> " + nameList;
  if (ids.empty()) {
    std::string detail = via + "; ";
    for (size_t i = 0; i < problems.size(); ++i) detail += (i ? "; " : "") + problems[i];
    return Component::make(denied ? Status::Denied : junk ? Status::Junk : Status::Absent, detail);
  }
  // Several disks (RAID, LVM over two disks): the sorted set, joined, as one value.
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string value;
  for (const std::string& id : ids) value += (value.empty() ? "" : ",") + id;
  return Component::ok(value, via);
}

}  // namespace fingerprint
