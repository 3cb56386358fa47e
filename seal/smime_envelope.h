// S/MIME (RFC 8551) with OpenSSL CMS: optional opaque SignedData inside,
// EnvelopedData (AES-256-CBC) or AuthEnvelopedData (AES-256-GCM) outside,
// RSA key transport or ECDH key agreement chosen per recipient key type.
// We wrap the CMS ourselves (GMime's S/MIME needs gpgsm's keybox).
//
// A payload held in memory is sealed into DER (definite lengths), as every
// client reads it. A payload too big for memory is streamed through OpenSSL
// (CMS_STREAM) into indefinite-length BER, which OpenSSL, gpgsm, NSS and
// Outlook read as well, so no layer ever holds the message whole.
#pragma once

#include <string>
#include <vector>

#include "common/body.h"
#include "common/result.h"
#include "keystore/keystore.h"

namespace sealpost::seal {

enum class SmimeCipher { Aes256Cbc, Aes256Gcm };

// "aes256-cbc" | "aes256-gcm"; anything else is a configuration error.
Result<SmimeCipher> parse_smime_cipher(const std::string& name);

// The complete outgoing message: `head` (our Received line and the outer
// headers), then application/pkcs7-mime around `payload`, signed inside
// (opaque SignedData: inside an envelope there is no legacy reader to cater
// for, and binary CMS keeps 8-bit content exact) when `signer` is set.
// Errors are temporary: the recipients are retried, nothing leaves.
Result<Body> smime_message(const std::string& head, const Body& payload,
                           const std::vector<ossl::SharedX509>& recipients,
                           const keystore::SmimeSigner* signer, SmimeCipher cipher,
                           const SpillSettings& spill);

}  // namespace sealpost::seal
