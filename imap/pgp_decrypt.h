// Decrypts and verifies one OpenPGP message (the second part of a PGP/MIME
// multipart/encrypted) with the practice's secret key in the keystore's
// GNUPGHOME. EFAIL: plaintext without integrity protection (no MDC/AEAD) is
// refused, never returned.
#pragma once

#include <string>

#include "common/result.h"
#include "imap/signature_status.h"
#include "keystore/pgp_keyring.h"

namespace sealpost::imap {

struct PgpDecrypted {
  std::string plaintext;  // a MIME entity (RFC 3156 §4); never logged
  SignatureFacts signature;
};

// Result<T> carries Error; the refusal kind rides in Error::enhanced
// ("not-for-us" | "no-integrity" | "damaged") to keep one error type.
Result<PgpDecrypted> pgp_decrypt(keystore::PgpKeyring& keyring, const std::string& ciphertext,
                                 const std::string& from_address);

}  // namespace sealpost::imap
