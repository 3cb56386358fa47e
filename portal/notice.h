// The pickup notice mail: a complete RFC 5322 message telling the patient that
// a message waits on the portal. Built from admin-editable templates
// (conf/templates/notice.<lang>.txt); it never carries the original subject,
// filenames or any content. Every substituted value is checked (no CR/LF or
// control characters) and header values go out as RFC 2047 encoded-words.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace sealpost::pickup {

struct NoticeParams {
  std::string from_address;   // e.g. noreply@praxis.example (envelope-safe addr-spec)
  std::string to_address;     // the patient
  std::string practice_name;  // display name and signature, may be non-ASCII
  std::string link;           // pickup_link(...), http(s) only
  std::int64_t expires_at = 0;
  std::string auth_method;                         // sms | passphrase | code-to-sender
  std::vector<std::string> languages{"de", "en"};  // one notice, sections in this order
  std::string templates_dir = "/etc/sealpost/templates";
  std::int64_t now = 0;  // Date header; 0 = current time
};

// Returns the message with CRLF line ends, ready for SMTP DATA.
Result<std::string> compose_notice(const NoticeParams& p);

// Building blocks, public for the portal's own mails and for tests.
bool safe_header_value(std::string_view v);  // no CR, LF, NUL or other controls
bool safe_addr_spec(std::string_view v);     // local@domain, no specials or spaces
// RFC 2047 B-encoded words (UTF-8), folded; plain ASCII text is returned as is.
std::string encode_header_text(std::string_view utf8);
std::string rfc5322_date(std::int64_t unix_seconds);

}  // namespace sealpost::pickup
