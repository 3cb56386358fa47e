// One error type for every module seam: what the SMTP client is told
// (code, enhanced status, text) is kept apart from what the log is told.
#pragma once

#include <string>

namespace sealpost {

struct Error {
  int smtp_code = 451;             // reply code when this surfaces in SMTP; 4xx = retry later
  std::string enhanced = "4.3.0";  // RFC 3463 enhanced status code
  std::string client_text;         // safe to send to a client or put into a DSN
  std::string reason;              // internal detail for logs; never content or secrets

  bool temporary() const { return smtp_code < 500; }

  // A transient local failure: the client (or scheduler) should try again.
  static Error temp(std::string enhanced, std::string client_text, std::string reason = {}) {
    return Error{451, std::move(enhanced), std::move(client_text), std::move(reason)};
  }
  // A permanent refusal: retrying the same thing will not help.
  static Error perm(std::string enhanced, std::string client_text, std::string reason = {}) {
    return Error{550, std::move(enhanced), std::move(client_text), std::move(reason)};
  }
  static Error make(int code, std::string enhanced, std::string client_text,
                    std::string reason = {}) {
    return Error{code, std::move(enhanced), std::move(client_text), std::move(reason)};
  }
  // Not SMTP-facing (CLI, config, startup): only the reason matters.
  static Error plain(std::string reason) { return Error{0, {}, reason, reason}; }
  // Best one-line description for a log or a CLI error.
  const std::string& what() const { return reason.empty() ? client_text : reason; }
};

}  // namespace sealpost
