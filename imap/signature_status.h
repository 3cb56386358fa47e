// The X-Sealpost-Signature value from what verification found. Pure, so the
// wording of every case is unit-tested: the value always starts with "valid",
// "invalid" or "none" so mail filters can match on the first word.
#pragma once

#include <string>

namespace sealpost::imap {

struct SignatureFacts {
  // Untrusted: the signature is correct but its S/MIME certificate does not
  // chain to a trust anchor (or is expired, revoked, not for signing).
  enum class Kind { None, Good, Bad, NoPublicKey, Expired, Untrusted } kind = Kind::None;
  std::string fingerprint;         // PGP primary key fingerprint, or the certificate id (x509:...)
  bool belongs_to_sender = false;  // a user id of the key / an address of the certificate is From
  std::string sender;              // From address, for the mismatch text
  bool certificate = false;        // S/MIME: say "certificate", not "key"
  // The OpenPGP key was harvested and waits for `sealpost keys approve`: until
  // then it does not vouch for the sender, so the signature reads "none".
  bool pending = false;
  std::string detail;  // Untrusted: why
};

std::string signature_header(const SignatureFacts& f);

}  // namespace sealpost::imap
