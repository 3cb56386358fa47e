// RFC 9788 header protection for an encrypted message (hcp_baseline policy):
// the Cryptographic Payload carries the real header fields and hp="cipher";
// the outer message shows "[...]" as Subject; a Legacy Display Element
// (text/plain; hp-legacy-display="1") lets older clients still show the
// subject. Bcc never appears anywhere.
#pragma once

#include <string>

#include "seal/gmime_ptr.h"

namespace sealpost::seal {

struct ProtectedMessage {
  std::string outer_headers;  // CRLF-terminated header fields, no MIME structure headers
  std::string payload;        // the inner MIME entity (headers + body), CRLF
};

// `message` is the (already scrubbed) message; it is modified only by adding
// the legacy display part to a multipart/mixed body.
ProtectedMessage protect_headers(GMimeMessage* message);

// The message with any Bcc removed, serialised with CRLF (plain delivery).
std::string serialise_without_bcc(GMimeMessage* message);

}  // namespace sealpost::seal
