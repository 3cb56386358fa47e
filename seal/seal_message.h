// One message in, one encrypted message out: header protection, then PGP/MIME
// or S/MIME. Used by SealingTransformer per recipient group, and by tools.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "keystore/keystore.h"
#include "seal/gmime_ptr.h"
#include "seal/smime_envelope.h"

namespace sealpost::seal {

// `signer_fingerprint` empty = unsigned.
Result<std::string> seal_pgp(GMimeMessage* message, keystore::PgpKeyring& ring,
                             const std::vector<std::string>& recipient_fingerprints,
                             const std::string& signer_fingerprint);

// `signer` null = unsigned.
Result<std::string> seal_smime(GMimeMessage* message, const std::vector<ossl::SharedX509>& certs,
                               const keystore::SmimeSigner* signer, SmimeCipher cipher);

}  // namespace sealpost::seal
