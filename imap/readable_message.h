// MIME side of inbound decryption (GMime): find the encrypted entity (PGP/MIME, S/MIME)
// in a parsed message, and strip remote content from HTML in the readable copy.
#pragma once

#include <optional>
#include <string>

#include "seal/gmime_ptr.h"

namespace sealpost::imap {

enum class EncryptionKind { Pgp, Smime };

struct EncryptedEntity {
  EncryptionKind kind = EncryptionKind::Pgp;
  // PGP: the application/octet-stream part of RFC 3156 §4; S/MIME: the DER.
  std::string ciphertext;
  // True when the encrypted entity sat beside or below other parts: those
  // unencrypted siblings are left out of the readable copy (EFAIL direct exfiltration).
  bool nested = false;
  // PGP only: an inline-PGP text/plain body (armored ciphertext), whose
  // plaintext is text rather than a MIME entity; `charset` is that part's.
  bool inline_text = false;
  std::string charset;
};

// The first multipart/encrypted with protocol application/pgp-encrypted,
// application/pkcs7-mime with smime-type enveloped-data / authEnveloped-data,
// or text/plain that is one inline-PGP message (is_inline_pgp_message), or nothing. Depth-limited;
// untrusted input.
std::optional<EncryptedEntity> find_encrypted(GMimeMessage* message);

// True when a Content-Type value announces protected headers: RFC 9788's
// hp="cipher" / hp="clear", or the older protected-headers="v1".
bool is_header_protected(const std::string& content_type);

// Remote references removed from every text/html part of `message` (the
// readable copy, CRLF text), message/rfc822 parts included; returns it
// unchanged when nothing was remote. Fails closed: an HTML part that cannot
// be read, anything nested deeper than the limit, or a copy that does not
// parse at all is replaced by a text notice. `removed` counts references and
// replaced parts.
std::string drop_remote_html(const std::string& message, int& removed);

}  // namespace sealpost::imap
