#include "imap/signature_status.h"

namespace sealpost::imap {

std::string signature_header(const SignatureFacts& f) {
  using K = SignatureFacts::Kind;
  switch (f.kind) {
    case K::None:
      return "none";
    case K::Good:
      // A good signature by somebody else's key must not read as the sender's.
      if (!f.belongs_to_sender)
        return "invalid (good signature by key " + f.fingerprint + " which does not belong to " +
               f.sender + ")";
      return "valid key " + f.fingerprint;
    case K::NoPublicKey:
      return "none (signed by unknown key " + f.fingerprint + ")";
    case K::Expired:
      return "invalid (key " + f.fingerprint + " expired or revoked)";
    case K::Bad:
      break;
  }
  return "invalid";
}

}  // namespace sealpost::imap
