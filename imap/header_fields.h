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

// Header protection (RFC 9788, and the older protected-headers="v1"): the
// decrypted entity carries the real Subject, To, ... while the outside shows
// "[...]". These are its fields that replace the outer ones in the readable
// copy: Subject, To, Cc, Reply-To, Date, In-Reply-To, References, Keywords,
// Comments, and From only when `from_matches` (its address is the outer
// From's, which the signature verdict was bound to). Never X-Sealpost-*,
// HP-Outer, Content-* or anything else.
std::vector<HeaderField> protected_fields(const SplitEntity& decrypted, bool from_matches);

// The readable copy: the original's outer headers without its Content-* fields
// and without any incoming X-Sealpost-* (spoofing), with the `promoted` fields
// (protected_fields) in place of the outer ones of the same names, our status
// headers, then ONLY the Content-* fields of the decrypted entity (anything
// else in there is attacker-chosen and must not become a top-level header
// unless promoted) and its body.
std::string build_readable(const std::vector<HeaderField>& outer, const SplitEntity& decrypted,
                           const ReadableStatus& status,
                           const std::vector<HeaderField>& promoted = {});

}  // namespace sealpost::imap
