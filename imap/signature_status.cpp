#include "imap/signature_status.h"

namespace sealpost::imap {

std::string signature_header(const SignatureFacts& f) {
  using K = SignatureFacts::Kind;
  const std::string what = f.certificate ? "certificate" : "key";
  switch (f.kind) {
    case K::None:
      return "none";
    case K::Good:
      // A good signature by somebody else's key must not read as the sender's.
      if (!f.belongs_to_sender)
        return "invalid (good signature by " + what + " " + f.fingerprint +
               " which does not belong to " + f.sender + ")";
      // Nobody has vouched for a key that is still waiting for approval.
      if (f.pending)
        return "none (signed by harvested key " + f.fingerprint + " awaiting approval)";
      return "valid " + what + " " + f.fingerprint;
    case K::NoPublicKey:
      return f.fingerprint.empty() ? "none (signed by unknown " + what + ")"
                                   : "none (signed by unknown " + what + " " + f.fingerprint + ")";
    case K::Expired:
      return "invalid (" + what + " " + f.fingerprint + " expired or revoked)";
    case K::Untrusted:
      return "invalid (certificate " + f.fingerprint + " not trusted: " + f.detail + ")";
    case K::Bad:
      break;
  }
  return "invalid";
}

}  // namespace sealpost::imap
