// One message in, one encrypted message out: header protection, then PGP/MIME
// or S/MIME. Used by SealingTransformer per recipient group, and by tools.
#pragma once

#include <string>
#include <vector>

#include "common/body.h"
#include "common/result.h"
#include "keystore/keystore.h"
#include "seal/gmime_ptr.h"
#include "seal/smime_envelope.h"

namespace sealpost::seal {

// `prefix` goes on top of the outgoing message unchanged (our own Received
// field). `signer_fingerprint` empty = unsigned.
Result<Body> seal_pgp(GMimeMessage* message, const std::string& prefix, keystore::PgpKeyring& ring,
                      const std::vector<std::string>& recipient_fingerprints,
                      const std::string& signer_fingerprint, const SpillSettings& spill);

// `signer` null = unsigned.
Result<Body> seal_smime(GMimeMessage* message, const std::string& prefix,
                        const std::vector<ossl::SharedX509>& certs,
                        const keystore::SmimeSigner* signer, SmimeCipher cipher,
                        const SpillSettings& spill);

}  // namespace sealpost::seal
