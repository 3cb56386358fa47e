// PGP/MIME (RFC 3156): encrypts a MIME entity to OpenPGP keys (optionally
// signing it in the same operation with the practice key) and writes the
// armored result into multipart/encrypted, streaming from payload to output.
#pragma once

#include <string>
#include <vector>

#include "common/body.h"
#include "common/result.h"
#include "keystore/pgp_keyring.h"

namespace sealpost::seal {

// The complete outgoing message: `head` (the header fields: our Received line
// and the outer headers), then multipart/encrypted around the ciphertext of
// `payload`. `signer_fingerprint` empty = encrypt only. Errors are temporary:
// the recipient is retried, nothing leaves.
Result<Body> pgp_mime_message(keystore::PgpKeyring& ring, const std::string& head,
                              const Body& payload,
                              const std::vector<std::string>& recipient_fingerprints,
                              const std::string& signer_fingerprint, const SpillSettings& spill);

}  // namespace sealpost::seal
