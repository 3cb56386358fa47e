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
      if (f.certificate) return "valid certificate " + f.fingerprint;
      switch (f.trust) {
        case KeyTrust::Vouched:
          return "valid key " + f.fingerprint;
        case KeyTrust::Unvouched:
          // Whoever sent the first mail with this key under this From: a
          // match, but not proof of who the sender is.
          return "valid harvested key " + f.fingerprint + " (unverified)";
        case KeyTrust::Pending:
          return "none (signed by harvested key " + f.fingerprint + " awaiting approval)";
        case KeyTrust::Retired:
          return "none (signed by retired harvested key " + f.fingerprint + ")";
        case KeyTrust::ThisMessage:
          return "none (signed by key " + f.fingerprint + " that came with this message)";
      }
      return "none";
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

KeyTrust key_trust(const keystore::Provenance& p, const std::string& message_id) {
  // Only the admin's import vouches by itself. A key with no provenance
  // record ("unknown": lost, or put into the keyring by hand) or a garbled
  // one is nobody's word: unvouched, like a harvested key.
  if (p.source == "imported") return KeyTrust::Vouched;
  if (p.source != "harvested") return KeyTrust::Unvouched;
  if (!p.retired.empty()) return KeyTrust::Retired;
  if (p.pending) return KeyTrust::Pending;
  if (p.approved) return KeyTrust::Vouched;
  const std::string suffix = " in " + message_id;
  if (!message_id.empty() && p.origin.size() >= suffix.size() &&
      p.origin.compare(p.origin.size() - suffix.size(), suffix.size(), suffix) == 0)
    return KeyTrust::ThisMessage;
  return KeyTrust::Unvouched;
}

}  // namespace sealpost::imap
