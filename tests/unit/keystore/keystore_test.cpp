#include "keystore/keystore.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <fstream>
#include <mutex>
#include <thread>

#include "keystore/address_match.h"
#include "keystore/gpg_conf.h"
#include "test_material.h"

using namespace sealpost;
using namespace sealpost::keystore;
using sealpost::testing::CertWorld;
using sealpost::testing::GpgWorld;
using sealpost::testing::slurp;
using sealpost::testing::Workdir;

namespace {

std::unique_ptr<Keystore> open_store(const Workdir& w, std::vector<std::string> anchors = {}) {
  auto ks = Keystore::open(KeystoreOptions{w / "state", std::move(anchors), ""});
  REQUIRE(ks.ok());
  return std::move(ks.value());
}

Provenance harvested(const std::string& id, const std::string& kind, bool pending,
                     const std::string& origin = "autocrypt from p in <m>") {
  Provenance p;
  p.id = id;
  p.kind = kind;
  p.source = "harvested";
  p.added = 1;
  p.origin = origin;
  p.pending = pending;
  return p;
}

bool has_rejection(const LookupResult& r, const std::string& needle) {
  for (const auto& x : r.rejected)
    if (x.reason.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("address matching: local part exact, domain case-insensitive") {
  CHECK(address_matches("anna@Praxis.Example", "anna@praxis.example"));
  CHECK_FALSE(address_matches("Anna@praxis.example", "anna@praxis.example"));
  CHECK_FALSE(address_matches("anna@praxis.example.evil", "anna@praxis.example"));
  CHECK_FALSE(address_matches("@praxis.example", "@praxis.example"));
  CHECK(normalise_address("Anna@PRAXIS.example") == "Anna@praxis.example");
  CHECK(address_from_uid("Anna A. (work) <anna@praxis.example>") == "anna@praxis.example");
  CHECK(address_from_uid("Anna only") == "");
}

TEST_CASE("OpenPGP lookup returns only usable keys and says why others are refused") {
  Workdir w;
  GpgWorld world(w);
  const std::string good = world.gen("Pat <pat@b.test>");
  const std::string sign_only = world.gen("Sig <sig@b.test>", "rsa2048", "sign");
  const std::string revoked = world.gen("Rev <rev@b.test>");
  world.revoke(revoked);
  const std::string expired = world.gen("Old <old@b.test>", "default", "default", "1d",
                                        "--faked-system-time 20200101T000000");
  auto ks = open_store(w);
  for (const auto& fpr : {good, sign_only, revoked, expired}) {
    auto imp = ks->import_data(world.export_key(fpr), "test.asc");
    REQUIRE(imp.ok());
  }

  SECTION("a good key, found with the domain in any case") {
    auto r = ks->lookup("pat@B.TEST");
    REQUIRE(r.ok());
    REQUIRE(r->pgp.size() == 1);
    CHECK(r->pgp[0].fingerprint == good);
    CHECK(r->pgp[0].source.source == "imported");
    CHECK(r->pgp[0].source.origin == "test.asc");
  }
  SECTION("the local part must match exactly") {
    auto r = ks->lookup("Pat@b.test");
    REQUIRE(r.ok());
    CHECK(r->pgp.empty());
  }
  SECTION("no encryption subkey") {
    auto r = ks->lookup("sig@b.test");
    REQUIRE(r.ok());
    CHECK(r->pgp.empty());
    CHECK(has_rejection(*r, "encryption-capable"));
  }
  SECTION("revoked") {
    auto r = ks->lookup("rev@b.test");
    REQUIRE(r.ok());
    CHECK(r->pgp.empty());
    CHECK(has_rejection(*r, "revoked"));
  }
  SECTION("expired") {
    auto r = ks->lookup("old@b.test");
    REQUIRE(r.ok());
    CHECK(r->pgp.empty());
    CHECK(has_rejection(*r, "expired"));
  }
  SECTION("removal invalidates the cache") {
    REQUIRE(ks->lookup("pat@b.test")->pgp.size() == 1);
    REQUIRE(ks->remove(good).ok());
    CHECK(ks->lookup("pat@b.test")->pgp.empty());
  }
  SECTION("a key imported later, here or by another process (the CLI), is seen at once") {
    REQUIRE(ks->lookup("new@b.test")->pgp.empty());  // snapshot taken now
    const std::string fresh = world.gen("New <new@b.test>");
    REQUIRE(ks->import_data(world.export_key(fresh), "new.asc").ok());
    CHECK(ks->lookup("new@b.test")->pgp.size() == 1);

    const std::string other = world.gen("Cli <cli@b.test>");
    auto cli = open_store(w);  // a second keystore on the same state dir
    REQUIRE(cli->import_data(world.export_key(other), "cli.asc").ok());
    auto r = ks->lookup("cli@b.test");
    REQUIRE(r.ok());
    REQUIRE(r->pgp.size() == 1);
    CHECK(r->pgp[0].fingerprint == other);
  }
}

TEST_CASE("S/MIME lookup validates chain, usage and validity") {
  Workdir w;
  CertWorld ca(w, "ca");
  CertWorld stranger(w, "stranger");
  auto ks = open_store(w, {ca.ca_pem()});
  auto import = [&](const std::string& pem) {
    auto r = ks->import_data(slurp(pem), "cert.pem");
    REQUIRE(r.ok());
  };
  import(ca.issue("good", "lab@labor.test"));
  import(ca.issue("ec", "ec@labor.test", "digitalSignature,keyAgreement", "emailProtection", 30,
                  "ec"));
  import(ca.issue("signonly", "sig@labor.test", "digitalSignature"));
  import(ca.issue("tls", "tls@labor.test", "digitalSignature,keyEncipherment", "serverAuth"));
  import(
      ca.issue("old", "old@labor.test", "digitalSignature,keyEncipherment", "emailProtection", -1));
  import(stranger.issue("foreign", "foreign@labor.test"));

  SECTION("valid RSA certificate, domain case-insensitive") {
    auto r = ks->lookup("lab@LABOR.test");
    REQUIRE(r.ok());
    REQUIRE(r->smime.size() == 1);
    CHECK(r->smime[0].subject == "CN=good");
    CHECK(r->smime[0].source.source == "imported");
    CHECK(ks->lookup("Lab@labor.test")->smime.empty());
  }
  SECTION("valid EC certificate needs keyAgreement") {
    CHECK(ks->lookup("ec@labor.test")->smime.size() == 1);
  }
  SECTION("keyUsage without keyEncipherment") {
    auto r = ks->lookup("sig@labor.test");
    CHECK(r->smime.empty());
    CHECK(has_rejection(*r, "keyEncipherment"));
  }
  SECTION("extendedKeyUsage without emailProtection") {
    auto r = ks->lookup("tls@labor.test");
    CHECK(r->smime.empty());
    CHECK(has_rejection(*r, "emailProtection"));
  }
  SECTION("expired") {
    auto r = ks->lookup("old@labor.test");
    CHECK(r->smime.empty());
    CHECK(has_rejection(*r, "expired"));
  }
  SECTION("untrusted chain") {
    auto r = ks->lookup("foreign@labor.test");
    CHECK(r->smime.empty());
    CHECK(has_rejection(*r, "chain verification failed"));
  }
  SECTION("list shows every certificate with its state") {
    auto l = ks->list();
    REQUIRE(l.ok());
    int usable = 0, unusable = 0;
    for (const auto& k : *l) (k.usable ? usable : unusable)++;
    CHECK(usable == 2);
    CHECK(unusable == 4);
  }
}

TEST_CASE("import rejects files that hold no keys") {
  Workdir w;
  auto ks = open_store(w);
  CHECK_FALSE(ks->import_data("hello world\n", "junk.txt").ok());
  CHECK_FALSE(ks->remove("x509:zz").ok());
}

TEST_CASE("lookups are safe from several delivery workers at once") {
  Workdir w;
  GpgWorld world(w);
  CertWorld ca(w, "ca");
  const std::string fpr = world.gen("Pat <pat@b.test>");
  auto ks = open_store(w, {ca.ca_pem()});
  REQUIRE(ks->import_data(world.export_key(fpr), "pat.asc").ok());
  REQUIRE(ks->import_data(slurp(ca.issue("lab", "lab@b.test")), "lab.pem").ok());
  std::atomic<int> good{0};
  std::mutex mu;
  std::string first_problem;
  std::vector<std::thread> workers;
  workers.reserve(4);
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto p = ks->lookup("pat@b.test");
        auto s = ks->lookup("lab@b.test");
        if (p.ok() && p->pgp.size() == 1 && s.ok() && s->smime.size() == 1) {
          ++good;
          continue;
        }
        std::lock_guard lock(mu);
        if (!first_problem.empty()) continue;
        if (!p.ok())
          first_problem = "pgp: " + p.error().what();
        else if (!s.ok())
          first_problem = "smime: " + s.error().what();
        else if (!s->rejected.empty())
          first_problem = "smime rejected: " + s->rejected[0].reason;
        else
          first_problem =
              "counts " + std::to_string(p->pgp.size()) + "/" + std::to_string(s->smime.size());
      }
    });
  }
  for (auto& t : workers) t.join();
  INFO(first_problem);
  CHECK(good == 200);
}

TEST_CASE("a harvested key waiting for approval is stored but not used until approved") {
  Workdir w;
  GpgWorld world(w);
  CertWorld ca(w, "ca");
  const std::string fpr = world.gen("Patientin <patient@example.test>");
  auto ks = open_store(w, {ca.ca_pem()});
  REQUIRE(ks->import_data(world.export_key(fpr), "patient.asc").ok());
  auto cert = ks->import_data(slurp(ca.issue("p", "patient@example.test")), "p.pem");
  REQUIRE(cert.ok());
  const std::string cert_id = cert->front().id;
  {  // what the IMAP harvester writes under `imap[].harvest: approve`
    auto prov = open_sqlite_provenance(w / "state/keystore.db");
    REQUIRE(prov.ok());
    for (const auto& [id, kind] : {std::pair{fpr, "pgp"}, std::pair{cert_id, "smime"}})
      REQUIRE((*prov)->record(harvested(id, kind, true)).ok());
  }

  auto r = ks->lookup("patient@example.test");
  REQUIRE(r.ok());
  CHECK(r->pgp.empty());
  CHECK(r->smime.empty());
  CHECK(has_rejection(*r, "awaiting approval (sealpost keys approve " + fpr + ")"));
  CHECK(has_rejection(*r, "awaiting approval (sealpost keys approve " + cert_id + ")"));
  auto listed = ks->list();
  REQUIRE(listed.ok());
  for (const auto& k : *listed) {
    CHECK_FALSE(k.usable);
    CHECK(k.source.pending);
    CHECK(k.problem.find("awaiting approval") != std::string::npos);
  }

  // Lower-case fingerprints are what people paste; approving twice is harmless.
  std::string lower = fpr;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto approved = ks->approve(lower);
  REQUIRE(approved.ok());
  CHECK_FALSE(approved->key.pending);
  CHECK(approved->key.approved);
  CHECK(approved->key.origin == "autocrypt from p in <m>");
  CHECK(approved->retired.empty());
  CHECK(ks->approve(fpr).ok());
  REQUIRE(ks->approve(cert_id).ok());
  r = ks->lookup("patient@example.test");
  REQUIRE(r.ok());
  CHECK(r->pgp.size() == 1);
  CHECK(r->smime.size() == 1);
  CHECK(r->rejected.empty());

  // Only harvested keys wait for approval; unknown ids are an error.
  REQUIRE(ks->import_data(world.export_key(world.gen("Admin <a@example.test>")), "a.asc").ok());
  auto admin = ks->lookup("a@example.test");
  REQUIRE(admin.ok());
  auto refused = ks->approve(admin->pgp.at(0).fingerprint);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().what().find("not harvested") != std::string::npos);
  CHECK_FALSE(ks->approve("x509:" + std::string(64, '0')).ok());
}

TEST_CASE("an admin-imported key or certificate supersedes harvested ones for the address") {
  Workdir w;
  GpgWorld world(w);
  CertWorld ca(w, "ca");
  const std::string addr = "patient@example.test";
  auto ks = open_store(w, {ca.ca_pem()});
  // A harvested key and certificate (as the harvester leaves them, approved).
  const std::string learnt = world.gen("Patientin <" + addr + ">");
  REQUIRE(ks->import_data(world.export_key(learnt), "learnt.asc").ok());
  auto cert = ks->import_data(slurp(ca.issue("learnt", addr)), "learnt.pem");
  REQUIRE(cert.ok());
  const std::string learnt_cert = cert->front().id;
  {
    auto prov = open_sqlite_provenance(w / "state/keystore.db");
    REQUIRE(prov.ok());
    for (const auto& [id, kind] : {std::pair{learnt, "pgp"}, std::pair{learnt_cert, "smime"}}) {
      auto p = harvested(id, kind, false);
      p.approved = true;
      REQUIRE((*prov)->record(p).ok());
    }
  }
  auto r = ks->lookup(addr);
  REQUIRE(r.ok());
  REQUIRE(r->pgp.size() == 1);
  REQUIRE(r->smime.size() == 1);

  std::string admin;
  SECTION("an admin OpenPGP key") {
    admin = world.gen("Patientin (vetted) <" + addr + ">");
    REQUIRE(ks->import_data(world.export_key(admin), "vetted.asc").ok());
    r = ks->lookup(addr);
    REQUIRE(r.ok());
    REQUIRE(r->pgp.size() == 1);
    CHECK(r->pgp[0].fingerprint == admin);
    CHECK(r->smime.empty());
  }
  SECTION("an admin certificate") {
    auto vetted = ks->import_data(slurp(ca.issue("vetted", addr)), "vetted.pem");
    REQUIRE(vetted.ok());
    admin = vetted->front().id;
    r = ks->lookup(addr);
    REQUIRE(r.ok());
    CHECK(r->pgp.empty());
    REQUIRE(r->smime.size() == 1);
    CHECK(r->smime[0].id == admin);
  }
  SECTION("an expired admin key: the harvested ones stay superseded") {
    admin = world.gen("Patientin (vetted) <" + addr + ">", "default", "default", "1d",
                      "--faked-system-time 20200101T000000");
    REQUIRE(ks->import_data(world.export_key(admin), "vetted.asc").ok());
    r = ks->lookup(addr);
    REQUIRE(r.ok());
    CHECK(r->pgp.empty());
    CHECK(r->smime.empty());
  }
  CHECK(has_rejection(*r, "superseded by the admin-imported " + admin));
  for (const auto& x : r->rejected)
    if (x.id == learnt) CHECK(x.reason.find("superseded") == 0);
}

TEST_CASE("a keystore.db from before approvals gains the new columns") {
  Workdir w;
  std::filesystem::create_directories(w / "state");
  testing::sh("sqlite3 " + (w / "state/keystore.db") +
              " \"CREATE TABLE provenance(id TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT"
              " NULL, added INTEGER NOT NULL, origin TEXT NOT NULL); INSERT INTO provenance"
              " VALUES('ABC', 'pgp', 'harvested', 5, 'old');\"");
  auto prov = open_sqlite_provenance(w / "state/keystore.db");
  REQUIRE(prov.ok());
  auto old = (*prov)->find("ABC");
  REQUIRE(old);
  CHECK_FALSE(old->pending);
  CHECK(old->origin == "old");
  CHECK_FALSE(old->approved);
  CHECK(old->replaces.empty());
  CHECK(old->retired.empty());
  auto def = harvested("DEF", "pgp", true, "new");
  def.replaces = "ABC";
  REQUIRE((*prov)->record(def).ok());
  CHECK((*prov)->find("DEF")->pending);
  CHECK((*prov)->find("DEF")->replaces == "ABC");
  REQUIRE(retire(**prov, "ABC", "replaced by DEF").ok());
  CHECK((*prov)->find("ABC")->retired == "replaced by DEF");
  // Opened again (the CLI after the daemon): the column is there already.
  auto again = open_sqlite_provenance(w / "state/keystore.db");
  REQUIRE(again.ok());
  CHECK((*again)->find("DEF")->pending);
}

TEST_CASE("keys remove takes the fingerprint in any case and forgets its provenance") {
  Workdir w;
  GpgWorld world(w);
  const std::string fpr = world.gen("Pat <pat@example.test>");
  auto ks = open_store(w);
  REQUIRE(ks->import_data(world.export_key(fpr), "pat.asc").ok());
  REQUIRE(ks->source_of(fpr).source == "imported");
  std::string lower = fpr;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  REQUIRE(ks->remove(lower).ok());
  CHECK(ks->lookup("pat@example.test")->pgp.empty());
  CHECK(ks->source_of(fpr).source == "unknown");  // no stale row left behind
}

TEST_CASE("the S/MIME signing identity can be removed") {
  Workdir w;
  CertWorld ca(w, "ca");
  const std::string cert = ca.issue("signer", "praxis@praxis.test");
  testing::sh("openssl pkcs12 -export -in " + cert + " -inkey " + (w / "ca/signer.key") +
              " -passout pass: -out " + (w / "signer.p12"));
  auto ks = open_store(w, {ca.ca_pem()});
  auto imported = ks->import_data(slurp(w / "signer.p12"), "signer.p12");
  REQUIRE(imported.ok());
  const std::string id = imported->front().id;
  REQUIRE(ks->smime_signer().ok());
  REQUIRE(*ks->smime_signer());
  auto removed = ks->remove_smime_signer();
  REQUIRE(removed.ok());
  CHECK(removed->id == id);
  CHECK(removed->origin == "signer.p12");
  CHECK_FALSE(*ks->smime_signer());
  CHECK_FALSE(std::filesystem::exists(w / "state/private/smime-signer.pem"));
  CHECK(ks->source_of(id).source == "unknown");
  auto listed = ks->list();
  REQUIRE(listed.ok());
  for (const auto& k : *listed) CHECK(k.kind != "smime-signer");
  CHECK_FALSE(ks->remove_smime_signer().ok());  // nothing left to remove
}

TEST_CASE("gpg.conf pins AES-256 for gpg's own encryption and keeps the admin's lines") {
  Workdir w;
  GpgWorld world(w);
  const std::string home = w / "state/gnupg";
  std::filesystem::create_directories(home);
  std::filesystem::permissions(home, std::filesystem::perms::owner_all);
  std::ofstream(home + "/gpg.conf") << "keyid-format 0xlong\ncipher-algo 3DES\n";
  auto ks = open_store(w);
  const std::string conf = slurp(home + "/gpg.conf");
  CHECK(conf.find("keyid-format 0xlong\n") == 0);
  CHECK(conf.find("\ncipher-algo 3DES") == std::string::npos);
  CHECK(conf.find("Sealpost (weakens encryption or signature checks, or breaks readers such as "
                  "GnuPG 2.2 and Sequoia): cipher-algo 3DES\n") != std::string::npos);
  CHECK(conf.find("personal-cipher-preferences AES256 AES192 AES\n") != std::string::npos);
  CHECK(conf.find("no-random-seed-file\n") != std::string::npos);
  ks.reset();
  ks = open_store(w);  // opened again: the same text, the block not repeated
  CHECK(slurp(home + "/gpg.conf") == conf);

  // A recipient key that lists 3DES first (as keys from old PGP versions do).
  const std::string patient = world.gen("Pat <pat@example.test>");
  testing::sh("printf 'setpref 3DES AES256 AES192 AES SHA256 ZLIB\\ny\\nsave\\n' | gpg --homedir " +
              (w / "gpg") + " --batch --yes --command-fd 0 --edit-key " + patient);
  const std::string practice = world.gen("Praxis <praxis@praxis.test>");
  REQUIRE(ks->import_data(world.export_key(patient), "pat.asc").ok());
  REQUIRE(ks->import_data(world.gpg("--armor --export-secret-keys " + practice), "p.sec").ok());

  // Signed and encrypted the way seal/ does it for signed PGP/MIME (gpg via GPGME).
  auto ctx = ks->pgp().new_context();
  REQUIRE(ctx.ok());
  auto recipients = ks->pgp().keys_for(ctx->get(), {patient}, false);
  auto signer = ks->pgp().keys_for(ctx->get(), {practice}, true);
  REQUIRE(recipients.ok());
  REQUIRE(signer.ok());
  REQUIRE(gpgme_signers_add(ctx->get(), signer->at(0).get()) == 0);
  gpgme_key_t keys[] = {recipients->at(0).get(), nullptr};
  const std::string text = "Befund\r\n";
  gpgme_data_t in = nullptr;
  gpgme_data_t out = nullptr;
  REQUIRE(gpgme_data_new_from_mem(&in, text.data(), text.size(), 0) == 0);
  REQUIRE(gpgme_data_new(&out) == 0);
  gpg::DataPtr in_ptr(in);
  REQUIRE(gpgme_op_encrypt_sign(ctx->get(), keys, GPGME_ENCRYPT_ALWAYS_TRUST, in, out) == 0);
  std::size_t len = 0;
  char* buf = gpgme_data_release_and_get_mem(out, &len);
  std::ofstream(w / "c.asc") << std::string(buf, len);
  gpgme_free(buf);

  // DECRYPTION_INFO <mdc> <cipher>: 2 = MDC (SHA-1), 9 = AES-256; no AEAD packet.
  const std::string status = world.gpg("--status-fd 1 --decrypt " + (w / "c.asc"));
  CHECK(status.find("DECRYPTION_INFO 2 9") != std::string::npos);
  const std::string packets = world.gpg("--list-packets " + (w / "c.asc"));
  CHECK(packets.find("tag=18") != std::string::npos);
  CHECK(packets.find("mdc_method: 2") != std::string::npos);
  CHECK(packets.find("tag=20") == std::string::npos);

  // Control (and proof the prefs took): gpg without the managed settings
  // follows the key's preferences and picks 3DES (2).
  std::ofstream(w / "m.txt") << text;
  world.gpg("--trust-model always -e -r " + patient + " -o " + (w / "c3.gpg") + " " +
            (w / "m.txt"));
  CHECK(world.gpg("--status-fd 1 --decrypt " + (w / "c3.gpg")).find("DECRYPTION_INFO 2 2") !=
        std::string::npos);
}

TEST_CASE("managed gpg.conf: risky admin options are commented out, the block stays last") {
  const std::string conf = managed_gpg_conf(
      "# mine\nkeyserver hkps://keys.example\ncompliance pgp7\ncompliance openpgp\n"
      "  --force-ocb\nrfc2440\npersonal-cipher-preferences CAST5\n");
  CHECK(conf.find("# mine\nkeyserver hkps://keys.example\n") == 0);
  CHECK(conf.find("\ncompliance openpgp\n") != std::string::npos);
  for (const char* line :
       {"compliance pgp7", "  --force-ocb", "rfc2440", "personal-cipher-preferences CAST5"})
    CHECK(conf.find("Sequoia): " + std::string(line) + "\n") != std::string::npos);
  // Integrity, signature and key-import checks gpg would otherwise skip, also
  // under the abbreviations gpg accepts.
  const std::string checks = managed_gpg_conf(
      "ignore-mdc-error\nIgnore-MDC\nallow-weak-digest-algos\nallow-weak-key-signatures\n"
      "no-require-cross-certification\nauto-key-retrieve\nauto-key-import\n"
      "keyserver-options auto-key-retrieve\ndigest-algo SHA1\nverbose\nno-auto-key-retrieve\n");
  for (const char* line :
       {"ignore-mdc-error", "Ignore-MDC", "allow-weak-digest-algos", "allow-weak-key-signatures",
        "no-require-cross-certification", "auto-key-retrieve", "auto-key-import",
        "keyserver-options auto-key-retrieve", "digest-algo SHA1"})
    CHECK(checks.find("Sequoia): " + std::string(line) + "\n") != std::string::npos);
  CHECK(checks.find("\nverbose\nno-auto-key-retrieve\n") != std::string::npos);
  // Rewriting is stable, and an old block is replaced, never repeated.
  CHECK(managed_gpg_conf(conf) == conf);
  const std::string once = managed_gpg_conf("");
  CHECK(managed_gpg_conf(once) == once);
  CHECK(once.rfind("no-random-seed-file") == once.find("no-random-seed-file"));
}

TEST_CASE("a revoked certificate is refused, and a CRL updated on disk counts without reopening") {
  Workdir w;
  CertWorld ca(w, "ca");
  const std::string crl_dir = w / "crl";
  std::filesystem::create_directories(crl_dir);
  ca.crl(crl_dir + "/ca.pem");  // nothing revoked yet
  KeystoreOptions o(w / "state", {ca.ca_pem()}, crl_dir);
  o.trust_check_interval = std::chrono::seconds(0);
  auto opened = Keystore::open(o);
  REQUIRE(opened.ok());
  auto& ks = **opened;
  const std::string cert = ca.issue("lab", "lab@labor.test");
  REQUIRE(ks.import_data(slurp(cert), "lab.pem").ok());
  REQUIRE(ks.lookup("lab@labor.test")->smime.size() == 1);

  ca.revoke(cert);
  ca.crl(crl_dir + "/ca.pem.new");
  std::filesystem::rename(crl_dir + "/ca.pem.new", crl_dir + "/ca.pem");
  auto r = ks.lookup("lab@labor.test");
  REQUIRE(r.ok());
  CHECK(r->smime.empty());
  CHECK(has_rejection(*r, "certificate revoked"));

  SECTION("a CRL past its nextUpdate refuses everything, saying why") {
    ca.crl(crl_dir + "/ca.pem", "-crl_lastupdate 200101000000Z -crl_nextupdate 200201000000Z");
    const std::string other = ca.issue("other", "other@labor.test");
    REQUIRE(ks.import_data(slurp(other), "other.pem").ok());
    auto stale = ks.lookup("other@labor.test");
    REQUIRE(stale.ok());
    CHECK(stale->smime.empty());
    CHECK(has_rejection(*stale, "CRL has expired"));
    CHECK(has_rejection(*stale, "past its nextUpdate"));
  }
  SECTION("without any CRL for the issuer, nothing is taken as unrevoked") {
    std::filesystem::remove(crl_dir + "/ca.pem");
    auto none = ks.lookup("lab@labor.test");
    REQUIRE(none.ok());
    CHECK(none->smime.empty());
    CHECK(has_rejection(*none, "no CRL for the issuer"));
  }
}

TEST_CASE("CRL changes are looked for at most every trust_check_interval") {
  Workdir w;
  CertWorld ca(w, "ca");
  const std::string crl_dir = w / "crl";
  std::filesystem::create_directories(crl_dir);
  ca.crl(crl_dir + "/ca.pem");
  KeystoreOptions o(w / "state", {ca.ca_pem()}, crl_dir);
  o.trust_check_interval = std::chrono::seconds(2);
  auto opened = Keystore::open(o);
  REQUIRE(opened.ok());
  auto& ks = **opened;
  const std::string cert = ca.issue("lab", "lab@labor.test");
  REQUIRE(ks.import_data(slurp(cert), "lab.pem").ok());
  REQUIRE(ks.lookup("lab@labor.test")->smime.size() == 1);
  ca.revoke(cert);
  ca.crl(crl_dir + "/ca.pem");
  CHECK(ks.lookup("lab@labor.test")->smime.size() == 1);  // within the interval: not yet
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  CHECK(ks.lookup("lab@labor.test")->smime.empty());
}

TEST_CASE("the PGP signing key is chosen for the From address") {
  Workdir w;
  GpgWorld world(w);
  const std::string anna = world.gen("Anna <anna@praxis.test>");
  const std::string practice = world.gen("Praxis <praxis@praxis.test>");
  const std::string old = world.gen("Alt <alt@praxis.test>", "default", "default", "1d",
                                    "--faked-system-time 20200101T000000");
  auto import_secret = [&](Keystore& ks, const std::string& fpr) {
    REQUIRE(ks.import_data(world.gpg("--armor --export-secret-keys " + fpr), fpr + ".sec").ok());
  };
  SECTION("its own key, never another staff member's or the practice's") {
    auto ks = open_store(w);
    for (const auto& f : {practice, anna}) import_secret(*ks, f);
    auto c = ks->pgp_signer_for("anna@praxis.test");
    REQUIRE(c.ok());
    CHECK(c->fingerprint == anna);
    CHECK(c->identity == "anna@praxis.test");
    CHECK(ks->pgp_signer_for("anna@Praxis.TEST")->fingerprint == anna);  // domain in any case
    // Nobody else's: unsigned, with the reason, unless a domain signer is configured.
    auto bob = ks->pgp_signer_for("bob@praxis.test");
    REQUIRE(bob.ok());
    CHECK(bob->fingerprint.empty());
    CHECK(bob->reason == "no usable signing identity for bob@praxis.test");
    CHECK(ks->pgp_signer_for("Anna@praxis.test")->fingerprint.empty());  // local part exact
  }
  SECTION("the configured domain signer signs for its domain only") {
    KeystoreOptions o(w / "state");
    o.domain_signers = {"praxis@praxis.test"};
    auto opened = Keystore::open(o);
    REQUIRE(opened.ok());
    auto& ks = **opened;
    for (const auto& f : {practice, anna}) import_secret(ks, f);
    CHECK(ks.pgp_signer_for("bob@praxis.test")->fingerprint == practice);
    CHECK(ks.pgp_signer_for("anna@praxis.test")->fingerprint == anna);  // her own first
    auto other = ks.pgp_signer_for("x@other.test");
    REQUIRE(other.ok());
    CHECK(other->fingerprint.empty());
  }
  SECTION("an expired or revoked key is refused with the reason") {
    auto ks = open_store(w);
    import_secret(*ks, old);
    auto c = ks->pgp_signer_for("alt@praxis.test");
    REQUIRE(c.ok());
    CHECK(c->fingerprint.empty());
    REQUIRE(c->refused.size() == 1);
    CHECK(c->refused[0].reason == "key has expired");
    CHECK(c->reason.find("key " + old + ": key has expired") != std::string::npos);
    world.revoke(anna);
    import_secret(*ks, anna);
    auto r = ks->pgp_signer_for("anna@praxis.test");
    REQUIRE(r.ok());
    CHECK(r->fingerprint.empty());
    CHECK(r->reason.find("key is revoked") != std::string::npos);
  }
  SECTION("the old API still returns the first key that can sign") {
    auto ks = open_store(w);
    import_secret(*ks, anna);
    CHECK(*ks->pgp_signing_fingerprint() == anna);
  }
}

TEST_CASE("the S/MIME signing identity is used only for its address and while valid") {
  Workdir w;
  CertWorld ca(w, "ca");
  auto p12 = [&](const std::string& pem, const std::string& stem) {
    testing::sh("openssl pkcs12 -export -in " + pem + " -inkey " + (w / ("ca/" + stem + ".key")) +
                " -passout pass: -out " + (w / (stem + ".p12")));
    return slurp(w / (stem + ".p12"));
  };
  const std::string crl_dir = w / "crl";
  std::filesystem::create_directories(crl_dir);
  ca.crl(crl_dir + "/ca.pem");
  KeystoreOptions o(w / "state", {ca.ca_pem()}, crl_dir);
  o.trust_check_interval = std::chrono::seconds(0);
  o.domain_signers = {"praxis@praxis.test"};
  auto opened = Keystore::open(o);
  REQUIRE(opened.ok());
  auto& ks = **opened;
  CHECK(ks.smime_signer_for("praxis@praxis.test")->reason.find("no S/MIME signing identity") !=
        std::string::npos);

  const std::string practice = ca.issue("practice", "praxis@praxis.test");
  REQUIRE(ks.import_data(p12(practice, "practice"), "practice.p12").ok());
  auto own = ks.smime_signer_for("praxis@praxis.test");
  REQUIRE(own.ok());
  REQUIRE(own->signer);
  CHECK(own->identity == "praxis@praxis.test");
  auto staff = ks.smime_signer_for("anna@praxis.test");  // domain signer configured
  REQUIRE(staff.ok());
  CHECK(staff->signer);
  auto foreign = ks.smime_signer_for("anna@other.test");
  REQUIRE(foreign.ok());
  CHECK_FALSE(foreign->signer);
  CHECK(foreign->reason.find("is for praxis@praxis.test") != std::string::npos);

  SECTION("revoked") {
    ca.revoke(practice);
    ca.crl(crl_dir + "/ca.pem");
    auto r = ks.smime_signer_for("praxis@praxis.test");
    REQUIRE(r.ok());
    CHECK_FALSE(r->signer);
    CHECK(r->reason.find("certificate revoked") != std::string::npos);
  }
  SECTION("expired") {
    const std::string expired = ca.issue("expired", "praxis@praxis.test",
                                         "digitalSignature,keyEncipherment", "emailProtection", 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    REQUIRE(ks.import_data(p12(expired, "expired"), "expired.p12").ok());
    auto r = ks.smime_signer_for("praxis@praxis.test");
    REQUIRE(r.ok());
    CHECK_FALSE(r->signer);
    CHECK(r->reason.find("certificate has expired") != std::string::npos);
  }
  SECTION("not for signing") {
    const std::string enc_only =
        ca.issue("enc", "praxis@praxis.test", "keyEncipherment", "emailProtection");
    REQUIRE(ks.import_data(p12(enc_only, "enc"), "enc.p12").ok());
    auto r = ks.smime_signer_for("praxis@praxis.test");
    REQUIRE(r.ok());
    CHECK_FALSE(r->signer);
    CHECK(r->reason.find("keyUsage lacks digitalSignature") != std::string::npos);
    CHECK(*ks.smime_signer());  // the old API still hands it out, unchecked
  }
}
