// /proc/self/mountinfo (proc(5)), split once for the readers that need it: the boot disk (the
// device of "/") and the environment report (the root mount, the container's /etc/hostname).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace fingerprint {

// One line, fields as the kernel wrote them (still \ooo-escaped); views into the text.
struct MountEntry {
  std::string_view line;
  std::string_view number;      // "maj:min" of the mounted device
  std::string_view root;        // the directory of its file system that is mounted
  std::string_view mountPoint;
  std::string_view fsType;      // after the "-" separator; empty if the line lacks it
  std::string_view source;
};

// Calls visit for every line that has the five leading fields, in file order (later mounts
// stack over earlier ones). Fields are split on whitespace, as istream >> would.
void forEachMount(std::string_view text, const std::function<void(const MountEntry&)>& visit);

}  // namespace fingerprint
