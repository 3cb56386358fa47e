// The X-Sealpost-Signature value from what verification found. Pure, so the
// wording of every case is unit-tested: the value always starts with "valid",
// "invalid" or "none" so mail filters can match on the first word.
#pragma once

#include <string>

#include "keystore/provenance.h"

namespace sealpost::imap {

// How far Sealpost vouches for the OpenPGP key behind a good signature
// (S/MIME certificates are vouched for by the trust anchors instead).
enum class KeyTrust {
  Unvouched,    // harvested from earlier mail (trust on first use), or of unknown
                // provenance: nobody checked it
  Vouched,      // imported by the admin, or a harvested key the admin approved
  Pending,      // harvested, waiting for `sealpost keys approve`
  Retired,      // harvested, replaced by a newer key for the address
  ThisMessage,  // learnt from the very message it signed: proves nothing
};

struct SignatureFacts {
  // Untrusted: the signature is correct but its S/MIME certificate does not
  // chain to a trust anchor (or is expired, revoked, not for signing).
  enum class Kind { None, Good, Bad, NoPublicKey, Expired, Untrusted } kind = Kind::None;
  std::string fingerprint;         // PGP primary key fingerprint, or the certificate id (x509:...)
  bool belongs_to_sender = false;  // a user id of the key / an address of the certificate is From
  std::string sender;              // From address, for the mismatch text
  bool certificate = false;        // S/MIME: say "certificate", not "key"
  std::string detail;              // Untrusted: why
  // OpenPGP only; the safe default reads as an unverified harvested key.
  KeyTrust trust = KeyTrust::Unvouched;
};

std::string signature_header(const SignatureFacts& f);

// The trust of the key that made a good OpenPGP signature, from its provenance
// as it was before this message was looked at; `message_id` is the message's,
// so a key harvested from the very same message (a retry after a crash, the
// same mail in two accounts) never counts.
KeyTrust key_trust(const keystore::Provenance& p, const std::string& message_id);

}  // namespace sealpost::imap
