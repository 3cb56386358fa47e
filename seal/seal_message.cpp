#include "seal/seal_message.h"

#include "seal/header_protection.h"
#include "seal/pgp_mime.h"

namespace sealpost::seal {

Result<std::string> seal_pgp(GMimeMessage* message, keystore::PgpKeyring& ring,
                             const std::vector<std::string>& recipient_fingerprints,
                             const std::string& signer_fingerprint) {
  const ProtectedMessage p = protect_headers(message);
  auto armored = pgp_encrypt(ring, p.payload, recipient_fingerprints, signer_fingerprint);
  if (!armored) return armored.error();
  return build_pgp_mime(p.outer_headers, *armored);
}

Result<std::string> seal_smime(GMimeMessage* message, const std::vector<ossl::SharedX509>& certs,
                               const keystore::SmimeSigner* signer, SmimeCipher cipher) {
  const ProtectedMessage p = protect_headers(message);
  std::string entity = p.payload;
  if (signer) {
    auto signed_entity = smime_sign(*signer, p.payload);
    if (!signed_entity) return signed_entity.error();
    entity = std::move(signed_entity.value());
  }
  auto der = smime_encrypt(certs, entity, cipher);
  if (!der) return der.error();
  return build_smime_message(p.outer_headers, *der, cipher);
}

}  // namespace sealpost::seal
