// Which kind of encrypted-data packet an OpenPGP message carries, read from
// the packet framing alone (no key). GnuPG refuses a Symmetrically Encrypted
// Data packet (tag 9: no MDC, the EFAIL malleability) only with a generic
// "decryption failed" (GPGME's legacy_cipher_nomdc covers 64-bit ciphers
// only), so the IMAP side looks first and calls it what it is.
#pragma once

#include <optional>
#include <string_view>

namespace sealpost::imap {

// Tag of the first packet after the session-key (1, 3) and marker (10)
// packets: 9 (SED, no integrity), 18 (SEIPD), 20 (AEAD), or whatever else
// comes; nothing when the framing is malformed or no such packet follows.
// `message` is armored ("-----BEGIN PGP MESSAGE-----") or binary. Lengths are
// checked against the buffer; at most 1000 packets are looked at.
std::optional<int> encrypted_data_tag(std::string_view message);

}  // namespace sealpost::imap
