#include "mountinfo.h"

namespace fingerprint {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

// The next whitespace-separated field of line, from at; false at the end of the line.
bool nextField(std::string_view line, size_t& at, std::string_view& out) {
  while (at < line.size() && isSpace(line[at])) ++at;
  if (at == line.size()) return false;
  const size_t start = at;
  while (at < line.size() && !isSpace(line[at])) ++at;
  out = line.substr(start, at - start);
  return true;
}

}  // namespace

void forEachMount(std::string_view text, const std::function<void(const MountEntry&)>& visit) {
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    MountEntry entry;
    entry.line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    size_t at = 0;
    std::string_view id, parent, field;
    if (!nextField(entry.line, at, id) || !nextField(entry.line, at, parent) || !nextField(entry.line, at, entry.number) ||
        !nextField(entry.line, at, entry.root) || !nextField(entry.line, at, entry.mountPoint)) {
      continue;
    }
    // Optional fields (shared:N, master:N, ...) run up to the "-" separator.
    while (nextField(entry.line, at, field) && field != "-") {
    }
    if (nextField(entry.line, at, entry.fsType)) nextField(entry.line, at, entry.source);
    visit(entry);
  }
}

}  // namespace fingerprint
