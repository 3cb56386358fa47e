// pgp_mime_message() routes unsigned messages through the in-process RNP
// engine and signed ones through gpg, for payloads in memory and payloads
// read in pieces from a spill file; every output decrypts with real gpg.
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <string>

#include "../keystore/test_material.h"
#include "keystore/keystore.h"
#include "seal/pgp_mime.h"

using namespace sealpost;
using sealpost::testing::GpgWorld;
using sealpost::testing::Workdir;

namespace {

std::string text(const Body& b) {
  auto s = b.to_string(SIZE_MAX);
  REQUIRE(s.ok());
  return *s;
}

// The armored block of a PGP/MIME message (what a client hands to gpg).
std::string armored_part(const std::string& mime) {
  const auto begin = mime.find("-----BEGIN PGP MESSAGE-----");
  const auto end = mime.find("-----END PGP MESSAGE-----");
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  return mime.substr(begin, end + 25 - begin) + "\r\n";
}

std::string big_payload(std::size_t n) {
  std::mt19937 rng(42);
  std::string s = "Content-Type: text/plain\r\n\r\n";
  while (s.size() < n) {
    std::string line(70, 'a');
    for (auto& c : line) c = static_cast<char>('a' + rng() % 26);
    s += line + "\r\n";
  }
  return s;
}

}  // namespace

TEST_CASE("unsigned PGP goes through RNP, signed through gpg, in memory or in pieces") {
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
  auto& ring = ks.pgp();
  const std::string head = "Received: from x by y (Sealpost) with ESMTP\r\nSubject: [...]\r\n";

  const auto decrypts_to = [&](const Body& sealed, const std::string& payload) {
    const std::string mime = text(sealed);
    CHECK(mime.rfind(head, 0) == 0);
    CHECK(mime.find("multipart/encrypted") != std::string::npos);
    // Canonical CRLF throughout.
    for (std::size_t i = 0; i < mime.size(); ++i)
      if (mime[i] == '\n') REQUIRE((i > 0 && mime[i - 1] == '\r'));
    const std::string path = w / "m.asc";
    std::ofstream(path, std::ios::binary) << armored_part(mime);
    return world.gpg("--decrypt " + path) == payload;
  };
  const std::filesystem::path spill_dir = w / "spill";
  std::filesystem::create_directories(spill_dir);

  SECTION("unsigned, in memory") {
    const std::string payload = "Content-Type: text/plain\r\n\r\nhello\r\n";
    auto sealed = seal::pgp_mime_message(ring, head, Body(payload), {fpr}, "", {});
    REQUIRE(sealed.ok());
    CHECK(ring.rnp().loads() == 1);
    CHECK(decrypts_to(*sealed, payload));
  }
  SECTION("unsigned, a payload read in pieces from a spill file, the output spilled too") {
    const std::string payload = big_payload(300000);
    BodyWriter writer(SpillSettings{spill_dir, 65536});
    REQUIRE(writer.append(payload).ok());
    auto body = writer.finish();
    REQUIRE(body.ok());
    REQUIRE(body->memory() == nullptr);
    auto sealed =
        seal::pgp_mime_message(ring, head, *body, {fpr}, "", SpillSettings{spill_dir, 65536});
    REQUIRE(sealed.ok());
    CHECK(sealed->memory() == nullptr);
    CHECK(ring.rnp().loads() == 1);
    CHECK(decrypts_to(*sealed, payload));
  }
  SECTION("signed, in memory and in pieces") {
    // The practice's signing key lives in Sealpost's home (secret key import).
    const std::string signer = world.gen("Praxis <praxis@a.test>");
    REQUIRE(ks.import_data(world.gpg("--armor --export-secret-keys " + signer), "praxis.asc").ok());
    const std::string small = "Content-Type: text/plain\r\n\r\nhello\r\n";
    auto sealed = seal::pgp_mime_message(ring, head, Body(small), {fpr}, signer, {});
    REQUIRE(sealed.ok());
    CHECK(ring.rnp().loads() == 0);
    CHECK(decrypts_to(*sealed, small));

    const std::string payload = big_payload(200000);
    BodyWriter writer(SpillSettings{spill_dir, 65536});
    REQUIRE(writer.append(payload).ok());
    auto body = writer.finish();
    REQUIRE(body.ok());
    auto big =
        seal::pgp_mime_message(ring, head, *body, {fpr}, signer, SpillSettings{spill_dir, 65536});
    REQUIRE(big.ok());
    CHECK(decrypts_to(*big, payload));
  }
}
