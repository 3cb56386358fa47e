#include "seal/seal_message.h"

#include "seal/header_protection.h"
#include "seal/pgp_mime.h"

namespace sealpost::seal {

Result<Body> seal_pgp(GMimeMessage* message, const std::string& prefix, keystore::PgpKeyring& ring,
                      const std::vector<std::string>& recipient_fingerprints,
                      const std::string& signer_fingerprint, const SpillSettings& spill) {
  auto p = protect_headers(message, spill);
  if (!p) return p.error();
  return pgp_mime_message(ring, prefix + p->outer_headers, p->payload, recipient_fingerprints,
                          signer_fingerprint, spill);
}

Result<Body> seal_smime(GMimeMessage* message, const std::string& prefix,
                        const std::vector<ossl::SharedX509>& certs,
                        const keystore::SmimeSigner* signer, SmimeCipher cipher,
                        const SpillSettings& spill) {
  auto p = protect_headers(message, spill);
  if (!p) return p.error();
  return smime_message(prefix + p->outer_headers, p->payload, certs, signer, cipher, spill);
}

}  // namespace sealpost::seal
