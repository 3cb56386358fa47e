// S/MIME signatures on incoming mail (RFC 8551 §3.5): finds one at the top of
// a MIME entity (the whole message, or what an S/MIME envelope decrypted to)
// and verifies it with OpenSSL CMS. The verdict is bound to From like the
// OpenPGP one, and trust comes from the configured anchors only: the
// certificates a signature carries are chain material, never trusted as such.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "imap/signature_status.h"
#include "keystore/smime_store.h"

namespace sealpost::imap {

struct SmimeSignature {
  bool detached = false;  // multipart/signed; otherwise opaque signed-data
  std::string content;    // detached: the first part, byte for byte as sent
  std::string der;        // the CMS SignedData
};

// The signature when `entity`'s own Content-Type is multipart/signed with
// protocol application/(x-)pkcs7-signature and exactly two parts, or
// application/(x-)pkcs7-mime with smime-type signed-data; nothing otherwise
// (signatures deeper inside are not looked for).
std::optional<SmimeSignature> find_smime_signature(std::string_view entity);

struct SmimeVerified {
  SignatureFacts facts;      // for X-Sealpost-Signature
  std::string content;       // the signed MIME entity, for the readable copy
  ossl::SharedX509 signer;   // when the signature itself is correct
  ossl::X509StackPtr chain;  // when the signer is trusted: verified chain, leaf first
  // A correct signature by a trusted certificate carrying the From address.
  bool valid() const {
    return facts.kind == SignatureFacts::Kind::Good && facts.belongs_to_sender && chain;
  }
};

// Verifies `sig` (CMS_verify) and the signer certificate (SmimeStore::verify_signer:
// S/MIME signing purpose, chain to a trust anchor, validity now, CRLs).
SmimeVerified smime_verify(keystore::SmimeStore& store, const SmimeSignature& sig,
                           const std::string& from);

}  // namespace sealpost::imap
