// Formatting of SMTP replies. Every reply except the greeting, the EHLO/HELO
// answer and the intermediate 334/354 prompts carries an RFC 3463 enhanced
// status code (RFC 2034 §3 exempts exactly those).
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace sealpost::smtp {

inline void append_reply(std::string& out, int code, std::string_view enhanced,
                         std::string_view text) {
  out += std::to_string(code);
  out += ' ';
  if (!enhanced.empty()) {
    out += enhanced;
    out += ' ';
  }
  out += text;
  out += "\r\n";
}

// An Error from a seam (spool, authenticator) as the client sees it. Errors
// that are not SMTP-facing (code 0) become a generic local failure.
inline void append_error_reply(std::string& out, const Error& e) {
  if (e.smtp_code < 400 || e.smtp_code > 599) {
    append_reply(out, 451, "4.3.0", "Local error, try again later");
    return;
  }
  append_reply(out, e.smtp_code, e.enhanced.empty() ? "4.3.0" : e.enhanced,
               e.client_text.empty() ? "Local error" : e.client_text);
}

}  // namespace sealpost::smtp
