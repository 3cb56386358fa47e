// The X-Sealpost-Signature value from what verification found. Pure, so the
// wording of every case is unit-tested: the value always starts with "valid",
// "invalid" or "none" so mail filters can match on the first word.
#pragma once

#include <string>

namespace sealpost::imap {

struct SignatureFacts {
  enum class Kind { None, Good, Bad, NoPublicKey, Expired } kind = Kind::None;
  std::string fingerprint;         // primary key fingerprint (or the one the signature names)
  bool belongs_to_sender = false;  // a user id of the key has the From address
  std::string sender;              // From address, for the mismatch text
};

std::string signature_header(const SignatureFacts& f);

}  // namespace sealpost::imap
