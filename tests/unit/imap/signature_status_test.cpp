#include "imap/signature_status.h"

#include <catch2/catch.hpp>

using namespace sealpost::imap;
using K = SignatureFacts::Kind;

namespace {

SignatureFacts facts(K kind, std::string fpr, bool belongs, bool certificate = false,
                     KeyTrust trust = KeyTrust::Vouched) {
  SignatureFacts f;
  f.kind = kind;
  f.fingerprint = std::move(fpr);
  f.belongs_to_sender = belongs;
  f.sender = "p@x";
  f.certificate = certificate;
  f.trust = trust;
  return f;
}

sealpost::keystore::Provenance source(const std::string& src, const std::string& origin = "") {
  sealpost::keystore::Provenance p;
  p.id = "ABC";
  p.source = src;
  p.origin = origin;
  return p;
}

}  // namespace

TEST_CASE("signature header wording") {
  CHECK(signature_header(facts(K::None, "", false)) == "none");
  CHECK(signature_header(facts(K::Good, "ABC", true)) == "valid key ABC");
  CHECK(signature_header(facts(K::Bad, "ABC", true)) == "invalid");
  const auto other = signature_header(facts(K::Good, "ABC", false));
  CHECK(other.rfind("invalid", 0) == 0);  // never reads as valid
  CHECK(other.find("does not belong to p@x") != std::string::npos);
  CHECK(signature_header(facts(K::NoPublicKey, "ABC", false)).rfind("none", 0) == 0);
  CHECK(signature_header(facts(K::Expired, "ABC", true)).rfind("invalid", 0) == 0);
}

TEST_CASE("signature header wording: S/MIME certificates and keys awaiting approval") {
  SignatureFacts smime = facts(K::Good, "x509:ab", true, true);
  CHECK(signature_header(smime) == "valid certificate x509:ab");
  smime.trust = KeyTrust::Unvouched;  // the trust anchors vouch for certificates
  CHECK(signature_header(smime) == "valid certificate x509:ab");
  smime.belongs_to_sender = false;
  CHECK(signature_header(smime) ==
        "invalid (good signature by certificate x509:ab which does not belong to p@x)");
  SignatureFacts untrusted = facts(K::Untrusted, "x509:ab", true, true);
  untrusted.detail = "chain verification failed: unable to get local issuer certificate";
  CHECK(signature_header(untrusted) ==
        "invalid (certificate x509:ab not trusted: chain verification failed: unable to get local "
        "issuer certificate)");
  CHECK(signature_header(facts(K::NoPublicKey, "", false, true)) ==
        "none (signed by unknown certificate)");
  SignatureFacts pending = facts(K::Good, "ABC", true, false, KeyTrust::Pending);
  CHECK(signature_header(pending) == "none (signed by harvested key ABC awaiting approval)");
  pending.belongs_to_sender = false;  // somebody else's key stays "invalid"
  CHECK(signature_header(pending).rfind("invalid", 0) == 0);
}

TEST_CASE("signature header wording: how far the OpenPGP key is vouched for") {
  CHECK(signature_header(facts(K::Good, "ABC", true, false, KeyTrust::Unvouched)) ==
        "valid harvested key ABC (unverified)");
  CHECK(signature_header(facts(K::Good, "ABC", true, false, KeyTrust::Retired)) ==
        "none (signed by retired harvested key ABC)");
  CHECK(signature_header(facts(K::Good, "ABC", true, false, KeyTrust::ThisMessage)) ==
        "none (signed by key ABC that came with this message)");
  // Not classified at all: the safe default never says "valid key".
  SignatureFacts unclassified;
  unclassified.kind = K::Good;
  unclassified.fingerprint = "ABC";
  unclassified.belongs_to_sender = true;
  CHECK(signature_header(unclassified) == "valid harvested key ABC (unverified)");
}

TEST_CASE("key trust comes from provenance, never from the message being checked") {
  CHECK(key_trust(source("imported"), "<m>") == KeyTrust::Vouched);
  // No provenance record (lost, or put there by hand) or a garbled one: nobody vouched.
  CHECK(key_trust(source("unknown"), "<m>") == KeyTrust::Unvouched);
  CHECK(key_trust(source(""), "<m>") == KeyTrust::Unvouched);
  CHECK(key_trust(source("Imported"), "<m>") == KeyTrust::Unvouched);
  auto garbled = source("imported ");
  garbled.approved = true;
  CHECK(key_trust(garbled, "<m>") == KeyTrust::Unvouched);
  auto h = source("harvested", "autocrypt from p@x in <first@x>");
  CHECK(key_trust(h, "<second@x>") == KeyTrust::Unvouched);
  CHECK(key_trust(h, "<first@x>") == KeyTrust::ThisMessage);
  CHECK(key_trust(h, "") == KeyTrust::Unvouched);
  h.approved = true;
  CHECK(key_trust(h, "<second@x>") == KeyTrust::Vouched);
  h.approved = false;
  h.pending = true;
  CHECK(key_trust(h, "<second@x>") == KeyTrust::Pending);
  h.retired = "replaced by DEF";
  CHECK(key_trust(h, "<second@x>") == KeyTrust::Retired);
  CHECK(key_trust(source("wkd"), "<m>") == KeyTrust::Unvouched);
}
