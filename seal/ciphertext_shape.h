// Structural checks that a body really is ciphertext, without any key: an
// OpenPGP message is a packet stream of session-key packets followed by one
// encrypted-data packet; an S/MIME body is a CMS EnvelopedData or
// AuthEnvelopedData. The policy sends "already encrypted" mail unchanged, so a
// label alone (a Content-Type, an armor line) must never be enough: plaintext
// dressed as ciphertext would leave in the clear.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sealpost::seal {

// The binary content of one ASCII-armored "PGP MESSAGE" block that makes up
// all of `text` (surrounding whitespace allowed); nothing when the armor or its
// base64 is malformed.
std::optional<std::string> dearmor_pgp_message(std::string_view text);

// One OpenPGP packet header (RFC 9580 4.2) at `pos`, old or new format, with
// its body checked against the buffer; nothing when malformed. New-format
// partial body lengths are followed across their chunks (`partial`); an
// old-format indeterminate length runs to the end of `p`.
struct OpenPgpPacket {
  int tag = -1;
  std::size_t body = 0;  // offset of the body (of its first chunk when partial)
  std::size_t end = 0;   // offset just past the packet
  bool partial = false;
  bool indeterminate = false;
};
std::optional<OpenPgpPacket> read_openpgp_packet(std::string_view p, std::size_t pos);

// True when `packets` is exactly: optional marker packets, one or more
// PKESK/SKESK packets, one SEIPD/AEAD/SED packet, optional padding, and
// nothing else. Lengths are checked against the buffer, never trusted.
bool is_openpgp_encrypted_message(std::string_view packets);

// Armored or binary OpenPGP encrypted message.
bool is_openpgp_ciphertext(std::string_view body);

// True when `der` is one complete CMS ContentInfo of type EnvelopedData or
// AuthEnvelopedData with at least one RecipientInfo.
bool is_cms_enveloped(std::string_view der);

}  // namespace sealpost::seal
