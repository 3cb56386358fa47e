// Decrypts an S/MIME enveloped (RFC 8551) or auth-enveloped (RFC 5083,
// AES-GCM) message with the practice's S/MIME identity (Keystore::smime_signer)
// via OpenSSL CMS. Whether the content is authenticated is reported, not
// assumed: CBC enveloped data can be modified undetected (EFAIL malleability).
#pragma once

#include <string>

#include "common/result.h"
#include "keystore/keystore.h"

namespace sealpost::imap {

struct SmimeDecrypted {
  std::string plaintext;       // a MIME entity; never logged
  bool authenticated = false;  // AuthEnvelopedData (AEAD)
};

// Error::enhanced carries "not-for-us" | "damaged" like pgp_decrypt().
Result<SmimeDecrypted> smime_decrypt(const keystore::SmimeSigner& identity, const std::string& der);

}  // namespace sealpost::imap
