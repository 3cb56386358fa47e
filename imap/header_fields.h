// Raw header-section handling for the decrypted copy: split a message or MIME
// entity into its header fields (unfolded names, raw folded text kept) and
// body, and build the readable copy's header section. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sealpost::imap {

struct HeaderField {
  std::string name;  // as written, without the colon
  std::string raw;   // the whole field including folded lines and the final CRLF
};

struct SplitEntity {
  std::vector<HeaderField> fields;
  std::string body;  // everything after the empty line
};

// Accepts CRLF or bare LF line ends (IMAP servers hand out CRLF).
SplitEntity split_entity(std::string_view data);

bool name_is(const HeaderField& f, std::string_view name);  // case-insensitive
// Value of the first field `name` (unfolded, trimmed); empty if absent.
std::string header_value(const std::vector<HeaderField>& fields, std::string_view name);
std::vector<std::string> header_values(const std::vector<HeaderField>& fields,
                                       std::string_view name);

struct ReadableStatus {
  std::string decrypted;  // X-Sealpost-Decrypted value
  std::string signature;  // X-Sealpost-Signature value
  std::string note;       // X-Sealpost-Note, optional
};

// The readable copy: the original's outer headers without its Content-* fields
// and without any incoming X-Sealpost-* (spoofing), our status headers, then
// ONLY the Content-* fields of the decrypted entity (anything else in there is
// attacker-chosen and must not become a top-level header) and its body.
std::string build_readable(const std::vector<HeaderField>& outer, const SplitEntity& decrypted,
                           const ReadableStatus& status);

}  // namespace sealpost::imap
