// Inline PGP (a text/plain body that is one ASCII-armored OpenPGP message, as
// older clients and webmailers send it). Decrypted with the same EFAIL rules
// as PGP/MIME (pgp_decrypt: integrity protection required); the plaintext is
// text, so it becomes a text/plain entity of its own for the readable copy.
#pragma once

#include <string>
#include <string_view>

namespace sealpost::imap {

// True when `text` is exactly one "-----BEGIN PGP MESSAGE-----" ...
// "-----END PGP MESSAGE-----" block with nothing but whitespace around it.
// A ciphertext quoted inside other text does not count: joining decrypted
// text with attacker-chosen plain text is what EFAIL exploits.
bool is_inline_pgp_message(std::string_view text);

// A text/plain MIME entity (quoted-printable, CRLF) holding `plaintext`,
// labelled with `charset` ("utf-8" when empty).
std::string inline_plaintext_entity(const std::string& plaintext, const std::string& charset);

}  // namespace sealpost::imap
