#include "imap/signature_status.h"

#include <catch2/catch.hpp>

using namespace sealpost::imap;
using K = SignatureFacts::Kind;

TEST_CASE("signature header wording") {
  CHECK(signature_header({K::None, "", false, "p@x"}) == "none");
  CHECK(signature_header({K::Good, "ABC", true, "p@x"}) == "valid key ABC");
  CHECK(signature_header({K::Bad, "ABC", true, "p@x"}) == "invalid");
  const auto other = signature_header({K::Good, "ABC", false, "p@x"});
  CHECK(other.rfind("invalid", 0) == 0);  // never reads as valid
  CHECK(other.find("does not belong to p@x") != std::string::npos);
  CHECK(signature_header({K::NoPublicKey, "ABC", false, "p@x"}).rfind("none", 0) == 0);
  CHECK(signature_header({K::Expired, "ABC", true, "p@x"}).rfind("invalid", 0) == 0);
}

TEST_CASE("signature header wording: S/MIME certificates and keys awaiting approval") {
  SignatureFacts smime{K::Good, "x509:ab", true, "p@x", true};
  CHECK(signature_header(smime) == "valid certificate x509:ab");
  smime.belongs_to_sender = false;
  CHECK(signature_header(smime) ==
        "invalid (good signature by certificate x509:ab which does not belong to p@x)");
  SignatureFacts untrusted{K::Untrusted, "x509:ab", true, "p@x", true};
  untrusted.detail = "chain verification failed: unable to get local issuer certificate";
  CHECK(signature_header(untrusted) ==
        "invalid (certificate x509:ab not trusted: chain verification failed: unable to get local "
        "issuer certificate)");
  CHECK(signature_header({K::NoPublicKey, "", false, "p@x", true}) ==
        "none (signed by unknown certificate)");
  SignatureFacts pending{K::Good, "ABC", true, "p@x"};
  pending.pending = true;
  CHECK(signature_header(pending) == "none (signed by harvested key ABC awaiting approval)");
  pending.belongs_to_sender = false;  // somebody else's key stays "invalid"
  CHECK(signature_header(pending).rfind("invalid", 0) == 0);
}
