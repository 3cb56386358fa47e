// The in-process RNP encryptor, checked against real gpg: what it writes must
// decrypt with gpg and have the packet shape gpg 2.2 itself writes (PKESK to
// the encryption subkey, SEIPD v1 with MDC, no AEAD); keyring changes made
// here or by another process must reach it.
#include "keystore/rnp_encryptor.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "keystore/keystore.h"
#include "test_material.h"

using namespace sealpost;
using namespace sealpost::keystore;
using sealpost::testing::GpgWorld;
using sealpost::testing::sh;
using sealpost::testing::Workdir;

namespace {

std::unique_ptr<Keystore> open_store(const Workdir& w) {
  auto ks = Keystore::open(KeystoreOptions{w / "state", {}, ""});
  REQUIRE(ks.ok());
  return std::move(ks.value());
}

std::string import(Keystore& ks, const GpgWorld& world, const std::string& fpr) {
  auto imp = ks.import_data(world.export_key(fpr), "test.asc");
  REQUIRE(imp.ok());
  return fpr;
}

// Key ids (16 hex digits) of the encryption subkeys gpg lists for `fpr`.
std::vector<std::string> encryption_subkey_ids(const GpgWorld& world, const std::string& fpr) {
  std::vector<std::string> ids;
  const std::string out = world.gpg("--with-colons --list-keys " + fpr);
  std::size_t pos = 0;
  while ((pos = out.find("\nsub:", pos)) != std::string::npos) {
    const auto eol = out.find('\n', pos + 1);
    const std::string line = out.substr(pos + 1, eol - pos - 1);
    std::vector<std::string> f;
    std::size_t a = 0, b;
    while ((b = line.find(':', a)) != std::string::npos) {
      f.push_back(line.substr(a, b - a));
      a = b + 1;
    }
    if (f.size() > 11 && f[11].find('e') != std::string::npos) ids.push_back(f[4]);
    pos = eol;
  }
  return ids;
}

std::string write(const Workdir& w, const std::string& name, const std::string& data) {
  const std::string path = w / name;
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

// The armored output as one string (the engine hands it out in pieces).
Result<std::string> armored(PgpKeyring& ring, const std::string& payload,
                            const std::vector<std::string>& fprs) {
  std::string out;
  auto r = ring.rnp().encrypt(ring.version(), Body(payload), fprs, [&](std::string_view p) {
    out.append(p);
    return true;
  });
  if (!r) return r.error();
  return out;
}

std::string encrypt(PgpKeyring& ring, const std::string& payload,
                    const std::vector<std::string>& fprs) {
  auto r = armored(ring, payload, fprs);
  INFO((r ? std::string() : r.error().reason));
  REQUIRE(r.ok());
  return *r;
}

const std::string kPayload =
    "Content-Type: text/plain; charset=utf-8\r\n\r\nBefund: unauffällig.\r\n";

}  // namespace

TEST_CASE("RNP encrypts what gpg decrypts, in gpg's own packet shape") {
  Workdir w;
  GpgWorld world(w);
  auto ks = open_store(w);
  // RSA (gpg's default) and Curve25519 (ECDH subkey): both key types in use.
  const std::string algo = GENERATE(std::string("default"), std::string("future-default"));
  const std::string fpr = import(*ks, world, world.gen("Pat <pat@b.test>", algo));
  auto found = ks->lookup("pat@b.test");
  REQUIRE(found.ok());
  REQUIRE(found->pgp.size() == 1);

  const std::string armored = encrypt(ks->pgp(), kPayload, {found->pgp[0].fingerprint});
  CHECK(armored.rfind("-----BEGIN PGP MESSAGE-----", 0) == 0);
  const std::string file = write(w, "msg.asc", armored);
  CHECK(world.gpg("--decrypt " + file) == kPayload);

  const std::string packets = world.gpg("--list-packets " + file);
  INFO(packets);
  const auto subkeys = encryption_subkey_ids(world, fpr);
  REQUIRE(subkeys.size() == 1);
  CHECK(packets.find(":pubkey enc packet:") != std::string::npos);
  CHECK(packets.find("keyid " + subkeys[0]) != std::string::npos);
  CHECK(packets.find("keyid " + fpr.substr(24)) == std::string::npos);  // never the primary
  CHECK(packets.find(":encrypted data packet:") != std::string::npos);
  CHECK(packets.find("mdc_method: 2") != std::string::npos);
  CHECK(packets.find("aead") == std::string::npos);
  CHECK(packets.find(":symkey enc packet:") == std::string::npos);
  // gpg names the session cipher when it decrypts: 9 = AES-256.
  // Sequoia reads it too (it is stricter about AEAD/MDC than gpg 2.2).
  const std::string secret = write(w, "secret.pgp", world.gpg("--export-secret-keys " + fpr));
  CHECK(sh("HOME=" + w.path().string() + " sq decrypt --recipient-key " + secret + " " + file) ==
        kPayload);
  world.gpg("--status-file " + (w / "status") + " --decrypt " + file);
  CHECK(sealpost::testing::slurp(w / "status").find("DECRYPTION_INFO 2 9") != std::string::npos);
}

TEST_CASE("RNP picks up keyring changes and encrypts only to keys it holds") {
  Workdir w;
  GpgWorld world(w);
  auto ks = open_store(w);
  PgpKeyring& ring = ks->pgp();
  const std::string a = import(*ks, world, world.gen("Ann <ann@b.test>"));
  const std::string b = world.gen("Ben <ben@b.test>");
  const std::string c = world.gen("Cy <cy@b.test>");

  SECTION("not in the keyring: an error, so the caller falls back") {
    auto r = armored(ring, kPayload, {b});
    CHECK_FALSE(r.ok());
  }

  SECTION("a store is reused while the keyring is unchanged, reloaded after") {
    encrypt(ring, kPayload, {a});
    encrypt(ring, kPayload, {a});
    CHECK(ring.rnp().loads() == 1);

    // Imported in this process: the generation changes.
    import(*ks, world, b);
    const std::string file = write(w, "ab.asc", encrypt(ring, kPayload, {a, b}));
    CHECK(ring.rnp().loads() == 2);
    const std::string packets = world.gpg("--list-packets " + file);
    CHECK(packets.find("keyid " + encryption_subkey_ids(world, a)[0]) != std::string::npos);
    CHECK(packets.find("keyid " + encryption_subkey_ids(world, b)[0]) != std::string::npos);
    CHECK(world.gpg("--decrypt " + file) == kPayload);

    // Imported by another process (the CLI): only pubring.kbx's mtime changes.
    const std::string exported = write(w, "c.asc", world.export_key(c));
    sh("gpg --homedir " + (w / "state/gnupg") + " --batch --import " + exported);
    auto found = ks->lookup("cy@b.test");
    REQUIRE(found.ok());
    REQUIRE(found->pgp.size() == 1);
    const std::string cfile = write(w, "c-msg.asc", encrypt(ring, kPayload, {c}));
    CHECK(ring.rnp().loads() == 3);
    CHECK(world.gpg("--decrypt " + cfile) == kPayload);
  }
}

TEST_CASE("RNP encryption from several workers at once") {
  Workdir w;
  GpgWorld world(w);
  auto ks = open_store(w);
  PgpKeyring& ring = ks->pgp();
  const std::string a = import(*ks, world, world.gen("Ann <ann@b.test>", "future-default"));
  std::vector<std::string> out(4 * 5);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = armored(ring, kPayload, {a});
        if (!r)
          ++failures;
        else
          out[t * 5 + i] = *r;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(ring.rnp().loads() <= 4);  // one store per concurrent worker at most
  CHECK(world.gpg("--decrypt " + write(w, "last.asc", out.back())) == kPayload);
}
