// Delivery status notifications (RFC 3464): the bounce a sender gets when a
// recipient finally failed. multipart/report with a short German + English
// text, the machine-readable message/delivery-status part and the original's
// header block only (text/rfc822-headers) — never the body, which may hold
// patient data the bounce recipient should not get back in the clear.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/spool/spool.h"

namespace sealpost::delivery {

struct FailedRecipient {
  SpoolRecipient rcpt;     // address, notify and orcpt as received
  std::string status;      // enhanced status code, e.g. "5.1.1" or "4.4.7" (expired)
  std::string diagnostic;  // "550 5.1.1 <...> unknown" from the remote, or a local reason
  bool remote = false;     // diagnostic is an SMTP reply from remote_mta
};

struct DsnContext {
  std::string reporting_mta;  // our hostname
  std::string remote_mta;     // the smarthost ("" when the failure was local)
  std::int64_t now = 0;       // unix seconds
};

// RFC 3461: no DSN for a null reverse-path (loop prevention), none when NOTIFY
// is NEVER or names other events only; absent NOTIFY means failures are reported.
bool wants_failure_dsn(const SpoolEnvelope& original, const SpoolRecipient& rcpt);

// The complete DSN message (CRLF line ends) for the recipients that want one,
// or nullopt when none does.
std::optional<std::string> compose_failure_dsn(const SpoolEnvelope& original,
                                               const std::vector<FailedRecipient>& failed,
                                               std::string_view original_data,
                                               const DsnContext& ctx);

// The header block of a message (up to the first empty line), at most max_bytes,
// cut at a line boundary.
std::string_view header_block(std::string_view message, std::size_t max_bytes = 64u << 10);

// The fields of a header block that identify a message (Date, From, Sender,
// To, Cc, Message-ID, In-Reply-To, References), folded lines kept, CRLF ends.
// A DSN travels unencrypted through the provider: Subject (often a
// diagnosis), Received lines with workstation names and IPs, client headers
// and Bcc stay out of it.
std::string identifying_headers(std::string_view headers);

}  // namespace sealpost::delivery
