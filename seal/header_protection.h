// RFC 9788 header protection for an encrypted message (hcp_baseline): the
// Cryptographic Payload carries the real header fields, HP-Outer copies of what
// the outside shows, and hp="cipher" on its root (plus protected-headers="v1",
// which Thunderbird and Enigmail read); the outside shows "[...]" as Subject and
// drops Keywords/Comments. A Legacy Display Element (§4.5) is put at the top of
// each main body part, so clients without RFC 9788 still show the subject:
// "Subject: ..." lines in text/plain (hp-legacy-display="1"), a
// div.header-protection-legacy-display in text/html. Bcc never appears anywhere.
#pragma once

#include <string>

#include "common/body.h"
#include "common/result.h"
#include "seal/gmime_ptr.h"

namespace sealpost::seal {

struct ProtectedMessage {
  std::string outer_headers;  // CRLF-terminated header fields, no MIME structure headers
  Body payload;               // the inner MIME entity (headers + body), CRLF
};

// `message` is the (already scrubbed) message; its main body parts get the
// legacy display and it is serialised (mime_writer.h): use it for nothing else
// afterwards.
Result<ProtectedMessage> protect_headers(GMimeMessage* message, const SpillSettings& spill);

// The message with any Bcc removed, appended to `out` with CRLF (plain delivery).
Result<void> serialise_without_bcc(GMimeMessage* message, BodyWriter& out);

// The decoded Subject as one line without control characters ("" when none).
std::string display_subject(GMimeMessage* message);

}  // namespace sealpost::seal
