// MIME side of inbound decryption (GMime): find the PGP/MIME encrypted entity
// in a parsed message, and strip remote content from HTML in the readable copy.
#pragma once

#include <optional>
#include <string>

#include "seal/gmime_ptr.h"

namespace sealpost::imap {

struct EncryptedEntity {
  std::string ciphertext;  // the application/octet-stream part of RFC 3156 §4
  // True when the encrypted entity sat beside or below other parts: those
  // unencrypted siblings are left out of the readable copy (EFAIL direct exfiltration).
  bool nested = false;
};

// The first multipart/encrypted with protocol application/pgp-encrypted, or
// nothing. Depth-limited; untrusted input.
std::optional<EncryptedEntity> find_pgp_encrypted(GMimeMessage* message);

// Remote references removed from every text/html part of `message` (the
// readable copy, CRLF text); returns it unchanged when nothing was remote or
// it does not parse. `removed` counts what was dropped.
std::string drop_remote_html(const std::string& message, int& removed);

}  // namespace sealpost::imap
