// PGP/MIME (RFC 3156): encrypts a MIME entity to OpenPGP keys (optionally
// signing it in the same operation with the practice key) and wraps the
// armored result in multipart/encrypted.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "keystore/pgp_keyring.h"

namespace sealpost::seal {

// Armored OpenPGP message. `signer_fingerprint` empty = encrypt only.
// Errors are temporary: the recipient is retried, nothing leaves.
Result<std::string> pgp_encrypt(keystore::PgpKeyring& ring, const std::string& payload,
                                const std::vector<std::string>& recipient_fingerprints,
                                const std::string& signer_fingerprint);

// The complete outgoing message: `outer_headers` + multipart/encrypted.
std::string build_pgp_mime(const std::string& outer_headers, const std::string& armored);

}  // namespace sealpost::seal
