// The top-level header section of a serialised message as raw fields, so
// header protection can copy them byte for byte (already RFC 2047-encoded)
// instead of decoding and re-encoding them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sealpost::seal {

struct HeaderField {
  std::string name;   // as written
  std::string lower;  // lower-case, for comparisons
  std::string raw;    // "Name: value\r\n" including folded continuation lines
  std::string value;  // unfolded value, leading whitespace trimmed
};

struct SplitMessage {
  std::vector<HeaderField> fields;
  std::string_view body;  // after the blank line
};

// `crlf_message` must use CRLF line ends (see to_crlf_string).
SplitMessage split_headers(std::string_view crlf_message);

// MIME structure headers that belong to the body part, not the message.
bool is_mime_structural(const std::string& lower_name);

}  // namespace sealpost::seal
