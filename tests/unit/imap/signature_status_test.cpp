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
