// pgp_encrypt() routes unsigned messages through the in-process RNP engine
// and signed ones through gpg; both outputs decrypt with real gpg.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "../keystore/test_material.h"
#include "keystore/keystore.h"
#include "seal/pgp_mime.h"

using namespace sealpost;
using sealpost::testing::GpgWorld;
using sealpost::testing::Workdir;

TEST_CASE("unsigned PGP goes through RNP, signed through gpg") {
  Workdir w;
  GpgWorld world(w);
  auto opened = keystore::Keystore::open(keystore::KeystoreOptions{w / "state", {}, ""});
  REQUIRE(opened.ok());
  auto& ks = *opened.value();
  const std::string fpr = world.gen("Pat <pat@b.test>");
  REQUIRE(ks.import_data(world.export_key(fpr), "pat.asc").ok());
  auto found = ks.lookup("pat@b.test");
  REQUIRE(found.ok());
  REQUIRE(found->pgp.size() == 1);
  const std::string payload = "Content-Type: text/plain\r\n\r\nhello\r\n";
  auto& ring = ks.pgp();

  const auto decrypts = [&](const std::string& armored) {
    const std::string path = w / "m.asc";
    std::ofstream(path, std::ios::binary) << armored;
    return world.gpg("--decrypt " + path) == payload;
  };

  SECTION("unsigned") {
    auto armored = seal::pgp_encrypt(ring, payload, {fpr}, "");
    REQUIRE(armored.ok());
    CHECK(ring.rnp().loads() == 1);
    CHECK(decrypts(*armored));
  }
  SECTION("signed") {
    // The practice's signing key lives in Sealpost's home (secret key import).
    const std::string signer = world.gen("Praxis <praxis@a.test>");
    REQUIRE(ks.import_data(world.gpg("--armor --export-secret-keys " + signer), "praxis.asc").ok());
    auto armored = seal::pgp_encrypt(ring, payload, {fpr}, signer);
    REQUIRE(armored.ok());
    CHECK(ring.rnp().loads() == 0);
    CHECK(decrypts(*armored));
  }
}
