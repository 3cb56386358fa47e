// Serialises a parsed (and maybe scrubbed) MIME tree into a BodyWriter with
// CRLF line ends: the one place seal/ turns GMime objects back into bytes.
//
// Leaf parts whose content is still the encoded bytes that arrived are copied
// unchanged instead of going through GMime's newline filter (a byte-at-a-time
// loop that was a fifth of the relay's CPU): they were CRLF already, since the
// SMTP server refuses bare CR and LF. Content a scrubber replaced is encoded by
// GMime as usual. Signed parts thereby keep their exact bytes.
#pragma once

#include "common/body.h"
#include "common/result.h"
#include "seal/gmime_ptr.h"

namespace sealpost::seal {

// Writes `object` (a message, or an entity) to `out`; a message ends with CRLF.
// The tree is marked for raw copying: serialise it last, read no content after.
Result<void> write_mime(GMimeObject* object, BodyWriter& out);

// write_mime into a fresh writer with `spill`, returning the bytes.
Result<Body> mime_body(GMimeObject* object, const SpillSettings& spill);

}  // namespace sealpost::seal
