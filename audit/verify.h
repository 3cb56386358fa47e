// Checks one chain directory end to end: every line parses, its hash matches,
// seq counts up by one, prev equals the previous line's hash, the line's day
// matches its file, and the chain starts either at event 1 (prev = genesis) or
// right after a pruned part that a later checkpoint record vouches for.
//
// What it cannot see on its own: the newest records being cut off together.
// Compare head_seq/head_hash with a copy kept elsewhere (docs/audit.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace sealpost::audit {

struct VerifyResult {
  bool intact = true;
  std::uint64_t events = 0;  // lines checked
  std::uint64_t head_seq = 0;
  std::string head_hash;
  // When broken: the first bad position.
  std::uint64_t broken_event = 0;  // the seq expected at that position
  std::string file;
  std::size_t line = 0;  // 1-based line within `file`
  std::string reason;
};

VerifyResult verify_chain(const std::filesystem::path& dir);

// "audit log intact (N events)" or "chain broken at event N (file:line): reason".
std::string describe(const VerifyResult& r);

}  // namespace sealpost::audit
