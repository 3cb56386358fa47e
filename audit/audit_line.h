// One audit record as one line of JSON, and the hash chain that links lines.
//
//   {"seq":7,"time":"2026-11-28T15:48:30.123Z","type":"delivery","fields":{...},
//    "prev":"<sha256 hex of line 6>","hash":"<sha256 hex of this line's body>"}
//
// The body is the line up to (not including) `,"hash":`; it contains `prev`, so
// each hash covers everything before it. Lines are written by encode_line()
// only, in a fixed key order, so verification can hash the exact bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sealpost::audit {

using Fields = std::vector<std::pair<std::string, std::string>>;

// prev of the first event of a chain that was never pruned.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

struct Line {
  std::uint64_t seq = 0;
  std::string time;  // ISO 8601 UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ"
  std::string type;
  Fields fields;
  std::string prev;  // 64 lower-case hex
  std::string hash;  // 64 lower-case hex, SHA-256 of the body
};

std::string sha256_hex(std::string_view data);
void append_json_string(std::string& out, std::string_view value);

// Builds the complete line (no trailing newline) and fills in line.hash.
std::string encode_line(Line& line);

// Strict parser for lines encode_line() wrote: exact key order, bounded sizes.
// Checks that `hash` matches the body; any deviation is an Error whose reason
// says what is wrong (used verbatim by `sealpost audit verify`).
Result<Line> decode_line(std::string_view text);

}  // namespace sealpost::audit
