// S/MIME (RFC 8551) with OpenSSL CMS: optional opaque SignedData inside,
// EnvelopedData (AES-256-CBC) or AuthEnvelopedData (AES-256-GCM) outside,
// RSA key transport or ECDH key agreement chosen per recipient key type.
// We wrap the DER ourselves (GMime's S/MIME needs gpgsm's keybox).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "keystore/keystore.h"

namespace sealpost::seal {

enum class SmimeCipher { Aes256Cbc, Aes256Gcm };

// "aes256-cbc" | "aes256-gcm"; anything else is a configuration error.
Result<SmimeCipher> parse_smime_cipher(const std::string& name);

// Opaque signed-data entity (headers + base64 body) around `payload`. Opaque
// rather than multipart/signed: inside an envelope there is no legacy reader to
// cater for, and binary CMS keeps 8-bit content exact without re-encoding.
Result<std::string> smime_sign(const keystore::SmimeSigner& signer, const std::string& payload);

// DER of the enveloped (or auth-enveloped) CMS object.
Result<std::string> smime_encrypt(const std::vector<ossl::SharedX509>& recipients,
                                  const std::string& entity, SmimeCipher cipher);

// The complete outgoing message: `outer_headers` + application/pkcs7-mime.
std::string build_smime_message(const std::string& outer_headers, const std::string& der,
                                SmimeCipher cipher);

}  // namespace sealpost::seal
