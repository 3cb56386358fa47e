// Where FileSpool keeps things below <state_dir>/spool/:
//   incoming/  data of messages still in DATA (never scanned for delivery)
//   queue/     <id>.msg (data, immutable) and <id>.env (envelope; its presence
//              makes the message visible, so it is always written last)
//   corrupt/   envelopes and data that failed their checks, kept for an admin
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace sealpost::spool {

struct SpoolPaths {
  std::filesystem::path root, incoming, queue, corrupt;

  explicit SpoolPaths(const std::filesystem::path& state_dir)
      : root(state_dir / "spool"),
        incoming(root / "incoming"),
        queue(root / "queue"),
        corrupt(root / "corrupt") {}

  std::filesystem::path envelope(const std::string& id) const { return queue / (id + ".env"); }
  std::filesystem::path data(const std::string& id) const { return queue / (id + ".msg"); }
};

// Queue ids come from new_queue_id(): lower-case hex/base32. Anything else (for
// example a CLI argument with "../") is refused before it touches a path.
inline bool valid_queue_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

}  // namespace sealpost::spool
