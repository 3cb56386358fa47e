// What may go into an audit record. The audit trail is kept for a year or more
// and read by people who must not see patient data, so it refuses content by
// construction: field names that usually carry content (subject, body, ...) are
// dropped and named in a `dropped` field, so a misbehaving caller is visible in
// the record itself rather than silently leaking or silently losing data.
#pragma once

#include <string>
#include <string_view>

#include "audit/audit_line.h"

namespace sealpost::audit {

inline constexpr std::size_t kMaxFieldValueBytes = 1024;
inline constexpr std::size_t kMaxFieldsPerEvent = 32;

// Lower-case ASCII letters, digits, '_' and '.', 1..64 characters.
bool is_valid_name(std::string_view name);
// subject, body, content, text, password, secret, ... (see field_rules.cpp).
bool is_forbidden_field(std::string_view name);

// Returns the fields to store: forbidden or malformed names removed (listed in
// "dropped"), values cut at kMaxFieldValueBytes, at most kMaxFieldsPerEvent.
Fields sanitize_fields(const Fields& in);
// Event types follow the same name rule; anything else is stored as "invalid".
std::string sanitize_type(std::string_view type);

}  // namespace sealpost::audit
