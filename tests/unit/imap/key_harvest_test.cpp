// Key harvesting against real gpg: keys are made in a throw-away "outside
// world" home and harvested into a fresh keystore, as the IMAP side does.
#include "imap/key_harvest.h"

#include <catch2/catch.hpp>

#include "../keystore/test_material.h"
#include "imap/harvest_import.h"
#include "imap/pgp_decrypt.h"
#include "imap/signature_status.h"

using namespace sealpost;
using namespace sealpost::imap;
using sealpost::testing::GpgWorld;
using sealpost::testing::Workdir;
using Kind = HarvestOutcome::Kind;

namespace {

// imap[].harvest: auto (the default is approve); key changes still wait.
const HarvestRules kAuto{HarvestPolicy::Auto, KeyChangePolicy::Approve};

std::unique_ptr<keystore::Keystore> open_store(const Workdir& w) {
  auto ks = keystore::Keystore::open(keystore::KeystoreOptions{w / "state", {}, ""});
  REQUIRE(ks.ok());
  return std::move(ks.value());
}

// Every user id address on the key with this fingerprint in the keystore's keyring.
std::vector<std::string> stored_uids(keystore::Keystore& ks, const std::string& fpr) {
  auto ctx = ks.pgp().new_context();
  REQUIRE(ctx.ok());
  gpgme_key_t raw = nullptr;
  if (gpgme_get_key(ctx->get(), fpr.c_str(), &raw, 0) != 0 || !raw) return {};
  gpg::KeyPtr key(raw);
  std::vector<std::string> out;
  for (gpgme_user_id_t u = key->uids; u; u = u->next) out.emplace_back(u->email ? u->email : "");
  return out;
}

std::size_t usable_keys(keystore::Keystore& ks, const std::string& address) {
  auto r = ks.lookup(address);
  REQUIRE(r.ok());
  return r->pgp.size();
}

void add_uid(const GpgWorld& world, const std::string& fpr, const std::string& uid) {
  world.gpg("--quick-add-uid " + fpr + " '" + uid + "'");
}

// Stores provenance in memory; `fail_record` / `lose_records` simulate a broken database.
class FakeProvenance final : public keystore::ProvenanceStore {
 public:
  bool fail_record = false;
  bool lose_records = false;
  Result<void> record(const keystore::Provenance& p) override {
    if (fail_record) return Error::plain("disk I/O error");
    if (!lose_records) rows.push_back(p);
    return {};
  }
  std::optional<keystore::Provenance> find(const std::string& id) override {
    for (const auto& p : rows)
      if (p.id == id) return p;
    return std::nullopt;
  }
  Result<void> forget(const std::string&) override { return {}; }
  std::vector<keystore::Provenance> rows;
};

}  // namespace

TEST_CASE("harvest keeps only the user id of the From address") {
  Workdir w;
  GpgWorld world(w);
  const std::string fpr = world.gen("Mallory <mallory@evil.test>");
  add_uid(world, fpr, "Labor <lab@partner.test>");
  add_uid(world, fpr, "Name only");
  auto ks = open_store(w);
  KeyHarvester harvester(*ks, w / "state");

  auto out = harvester.harvest_pgp(world.export_key(fpr), "mallory@evil.test", "<m-1@evil.test>",
                                   HarvestSource::Autocrypt, kAuto);
  REQUIRE(out.kind == Kind::Imported);
  CHECK_FALSE(out.pending);
  CHECK(out.fingerprint == fpr);
  CHECK(stored_uids(*ks, fpr) == std::vector<std::string>{"mallory@evil.test"});
  CHECK(usable_keys(*ks, "mallory@evil.test") == 1);
  CHECK(usable_keys(*ks, "lab@partner.test") == 0);  // the attack: key used for the lab

  auto r = ks->lookup("mallory@evil.test");
  REQUIRE(r.ok());
  CHECK(r->pgp[0].source.source == "harvested");
  CHECK(r->pgp[0].source.origin == "autocrypt from mallory@evil.test in <m-1@evil.test>");
  CHECK(r->pgp[0].source.added > 0);

  // Mailed again: nothing changes, no second import.
  CHECK(harvester.harvest_pgp(world.export_key(fpr), "mallory@evil.test", "<m-2>").kind ==
        Kind::Known);
}

TEST_CASE("a harvested key does not make forged signatures read as the other address's") {
  Workdir w;
  GpgWorld world(w);
  const std::string practice = world.gen("Praxis <praxis@praxis.test>");
  const std::string mallory = world.gen("Mallory <mallory@evil.test>");
  add_uid(world, mallory, "lab@partner.test");
  auto ks = open_store(w);
  REQUIRE(ks->import_data(world.gpg("--armor --export-secret-keys " + practice), "p.asc").ok());
  KeyHarvester harvester(*ks, w / "state");
  REQUIRE(harvester
              .harvest_pgp(world.export_key(mallory), "mallory@evil.test", "<m>",
                           HarvestSource::Autocrypt, kAuto)
              .kind == Kind::Imported);

  testing::sh("printf 'Befund\\n' > " + (w / "msg.txt"));
  const std::string ciphertext =
      world.gpg("--trust-model always --armor --sign --encrypt -u " + mallory + " -r " + practice +
                " -o - " + (w / "msg.txt"));
  auto as_lab = pgp_decrypt(ks->pgp(), ciphertext, "lab@partner.test");
  REQUIRE(as_lab.ok());
  CHECK(as_lab->signature.kind == SignatureFacts::Kind::Good);
  CHECK_FALSE(as_lab->signature.belongs_to_sender);
  CHECK(signature_header(as_lab->signature).rfind("invalid", 0) == 0);

  // Her own signature is good and hers, but all that vouches for the key is
  // earlier mail from her: it reads as harvested and unverified, never "valid key".
  auto as_mallory = pgp_decrypt(ks->pgp(), ciphertext, "mallory@evil.test");
  REQUIRE(as_mallory.ok());
  SignatureFacts facts = as_mallory->signature;
  facts.trust = key_trust(ks->source_of(mallory), "<later@evil.test>");
  CHECK(signature_header(facts) == "valid harvested key " + mallory + " (unverified)");
  // Checked against the message the key came with, it proves nothing at all.
  facts.trust = key_trust(ks->source_of(mallory), "<m>");
  CHECK(signature_header(facts) ==
        "none (signed by key " + mallory + " that came with this message)");
  // Only once an admin vouches for it does it read "valid key".
  REQUIRE(ks->approve(mallory).ok());
  facts.trust = key_trust(ks->source_of(mallory), "<later@evil.test>");
  CHECK(signature_header(facts) == "valid key " + mallory);
}

TEST_CASE("harvest refuses keys that are not the sender's") {
  Workdir w;
  GpgWorld world(w);
  auto ks = open_store(w);
  KeyHarvester harvester(*ks, w / "state");

  SECTION("no user id for the From address") {
    const std::string fpr = world.gen("Lab <lab@partner.test>");
    auto out = harvester.harvest_pgp(world.export_key(fpr), "mallory@evil.test", "<m>");
    CHECK(out.kind == Kind::Refused);
    CHECK(stored_uids(*ks, fpr).empty());
  }
  SECTION("the local part differs in case only") {
    const std::string fpr = world.gen("Anna <Anna@pat.test>");
    CHECK(harvester.harvest_pgp(world.export_key(fpr), "anna@pat.test", "<m>").kind ==
          Kind::Refused);
    CHECK(stored_uids(*ks, fpr).empty());
  }
  SECTION("the domain may differ in case") {
    const std::string fpr = world.gen("Anna <anna@Pat.Test>");
    CHECK(harvester.harvest_pgp(world.export_key(fpr), "anna@pat.test", "<m>").kind ==
          Kind::Imported);
    CHECK(stored_uids(*ks, fpr) == std::vector<std::string>{"anna@Pat.Test"});
  }
  SECTION("expired") {
    const std::string fpr = world.gen("Old <old@pat.test>", "default", "default", "1d",
                                      "--faked-system-time 20200101T000000");
    auto out = harvester.harvest_pgp(world.export_key(fpr), "old@pat.test", "<m>");
    CHECK(out.kind == Kind::Refused);
    CHECK(stored_uids(*ks, fpr).empty());
  }
  SECTION("revoked") {
    const std::string fpr = world.gen("Rev <rev@pat.test>");
    world.revoke(fpr);
    CHECK(harvester.harvest_pgp(world.export_key(fpr), "rev@pat.test", "<m>").kind ==
          Kind::Refused);
    CHECK(stored_uids(*ks, fpr).empty());
  }
  SECTION("secret key material") {
    const std::string fpr = world.gen("Sec <sec@pat.test>");
    CHECK(harvester
              .harvest_pgp(world.gpg("--armor --export-secret-keys " + fpr), "sec@pat.test", "<m>")
              .kind == Kind::Refused);
    CHECK(stored_uids(*ks, fpr).empty());
  }
  SECTION("an address gpg's filter syntax could misread") {
    const std::string fpr = world.gen("X <x@pat.test>");
    CHECK(harvester.harvest_pgp(world.export_key(fpr), "x || y@pat.test", "<m>").kind ==
          Kind::Refused);
    CHECK_FALSE(harvestable_address("a&&b@pat.test"));
    CHECK_FALSE(harvestable_address("\"a b\"@pat.test"));
    CHECK(harvestable_address("anna.m+reply@pat.test"));
  }
}

TEST_CASE("an admin-imported key takes precedence over harvesting") {
  Workdir w;
  GpgWorld world(w);
  auto ks = open_store(w);
  KeyHarvester harvester(*ks, w / "state");

  SECTION("the address already has an admin key") {
    const std::string admin = world.gen("Pat <pat@pat.test>");
    REQUIRE(ks->import_data(world.export_key(admin), "pat.asc").ok());
    const std::string other = world.gen("Pat new <pat@pat.test>");
    auto out = harvester.harvest_pgp(world.export_key(other), "pat@pat.test", "<m>");
    CHECK(out.kind == Kind::Refused);
    CHECK(stored_uids(*ks, other).empty());
    auto r = ks->lookup("pat@pat.test");
    REQUIRE(r.ok());
    REQUIRE(r->pgp.size() == 1);
    CHECK(r->pgp[0].fingerprint == admin);
    CHECK(r->pgp[0].source.source == "imported");
  }
  SECTION("the address has an expired admin key") {
    const std::string admin = world.gen("Pat <pat@pat.test>", "default", "default", "1d",
                                        "--faked-system-time 20200101T000000");
    REQUIRE(ks->import_data(world.export_key(admin), "pat.asc").ok());
    const std::string other = world.gen("Pat new <pat@pat.test>");
    CHECK(harvester.harvest_pgp(world.export_key(other), "pat@pat.test", "<m>").kind ==
          Kind::Refused);
    CHECK(stored_uids(*ks, other).empty());
  }
  SECTION("the admin's key for another address gains no user id") {
    // The lab's own key, imported by the admin for lab@; later mailed from
    // another address with a user id for it added.
    const std::string lab = world.gen("Lab <lab@partner.test>");
    REQUIRE(ks->import_data(world.export_key(lab), "lab.asc").ok());
    add_uid(world, lab, "Lab private <lab@home.test>");
    auto out = harvester.harvest_pgp(world.export_key(lab), "lab@home.test", "<m>");
    CHECK(out.kind == Kind::Refused);
    CHECK(stored_uids(*ks, lab) == std::vector<std::string>{"lab@partner.test"});
    CHECK(usable_keys(*ks, "lab@home.test") == 0);
  }
  SECTION("a second harvested key for the address waits for approval, then replaces the first") {
    const std::string first = world.gen("Pat <pat@pat.test>");
    REQUIRE(harvester
                .harvest_pgp(world.export_key(first), "pat@pat.test", "<1>",
                             HarvestSource::Autocrypt, kAuto)
                .kind == Kind::Imported);
    const std::string second = world.gen("Pat 2 <pat@pat.test>");
    auto out = harvester.harvest_pgp(world.export_key(second), "pat@pat.test", "<2>",
                                     HarvestSource::Signature, kAuto);
    REQUIRE(out.kind == Kind::Imported);
    CHECK(out.pending);  // harvest: auto, but key_change: approve
    CHECK(out.reason.find("key change") != std::string::npos);
    CHECK(out.reason.find(first) != std::string::npos);
    CHECK(out.retired.empty());
    auto r = ks->lookup("pat@pat.test");
    REQUIRE(r.ok());
    REQUIRE(r->pgp.size() == 1);  // outgoing mail is encrypted to the first key only
    CHECK(r->pgp[0].fingerprint == first);
    CHECK(ks->source_of(second).origin.rfind("signature from", 0) == 0);

    auto approval = ks->approve(second);
    REQUIRE(approval.ok());
    CHECK(approval->retired == std::vector<std::string>{first});
    r = ks->lookup("pat@pat.test");
    REQUIRE(r.ok());
    REQUIRE(r->pgp.size() == 1);
    CHECK(r->pgp[0].fingerprint == second);
    const auto old = ks->source_of(first);
    CHECK(old.retired.find("replaced by " + second) == 0);
    REQUIRE(r->rejected.size() == 1);
    CHECK(r->rejected[0].reason.find("retired: replaced by " + second) == 0);
    // A retired key cannot be approved back in, and mailing it again changes nothing.
    CHECK_FALSE(ks->approve(first).ok());
    CHECK(harvester
              .harvest_pgp(world.export_key(first), "pat@pat.test", "<3>", HarvestSource::Autocrypt,
                           kAuto)
              .kind == Kind::Known);
    CHECK(usable_keys(*ks, "pat@pat.test") == 1);
  }
  SECTION("key_change: auto switches at once and retires the earlier key") {
    const HarvestRules switch_at_once{HarvestPolicy::Auto, KeyChangePolicy::Auto};
    const std::string first = world.gen("Pat <pat@pat.test>");
    REQUIRE(harvester
                .harvest_pgp(world.export_key(first), "pat@pat.test", "<1>",
                             HarvestSource::Autocrypt, switch_at_once)
                .kind == Kind::Imported);
    const std::string second = world.gen("Pat 2 <pat@pat.test>");
    auto out = harvester.harvest_pgp(world.export_key(second), "pat@pat.test", "<2>",
                                     HarvestSource::Autocrypt, switch_at_once);
    REQUIRE(out.kind == Kind::Imported);
    CHECK_FALSE(out.pending);
    CHECK(out.retired == std::vector<std::string>{first});
    auto r = ks->lookup("pat@pat.test");
    REQUIRE(r.ok());
    REQUIRE(r->pgp.size() == 1);
    CHECK(r->pgp[0].fingerprint == second);
    CHECK(ks->source_of(first).retired.find("replaced by " + second) == 0);
  }
  SECTION("an admin key is never replaced, whatever key_change says") {
    const std::string admin = world.gen("Pat <pat@pat.test>");
    REQUIRE(ks->import_data(world.export_key(admin), "pat.asc").ok());
    const std::string other = world.gen("Pat 2 <pat@pat.test>");
    CHECK(harvester
              .harvest_pgp(world.export_key(other), "pat@pat.test", "<m>", HarvestSource::Autocrypt,
                           {HarvestPolicy::Auto, KeyChangePolicy::Auto})
              .kind == Kind::Refused);
    CHECK(ks->source_of(admin).retired.empty());
    CHECK(usable_keys(*ks, "pat@pat.test") == 1);
  }
}

TEST_CASE("no harvested key stays without provenance") {
  Workdir w;
  GpgWorld world(w);
  auto ks = open_store(w);
  KeyHarvester harvester(*ks, w / "state");
  const std::string fpr = world.gen("Pat <pat@pat.test>");
  auto fake = std::make_unique<FakeProvenance>();
  FakeProvenance* prov = fake.get();
  harvester.set_provenance_for_testing(std::move(fake));

  SECTION("the provenance write fails: nothing is imported") {
    prov->fail_record = true;
    auto out = harvester.harvest_pgp(world.export_key(fpr), "pat@pat.test", "<m>");
    CHECK(out.kind == Kind::Refused);
    CHECK(out.reason.find("provenance") != std::string::npos);
    CHECK(stored_uids(*ks, fpr).empty());
  }
  SECTION("the provenance is gone after the import: the key is removed again") {
    prov->lose_records = true;
    auto out = harvester.harvest_pgp(world.export_key(fpr), "pat@pat.test", "<m>");
    CHECK(out.kind == Kind::Refused);
    CHECK(out.reason.find("removed again") != std::string::npos);
    CHECK(stored_uids(*ks, fpr).empty());
    CHECK(usable_keys(*ks, "pat@pat.test") == 0);
  }
  SECTION("recorded as harvested, pending by default") {
    REQUIRE(harvester.harvest_pgp(world.export_key(fpr), "pat@pat.test", "<m>").kind ==
            Kind::Imported);
    CHECK(prov->rows.at(0).pending);
    REQUIRE(prov->rows.size() == 1);
    CHECK(prov->rows[0].id == fpr);
    CHECK(prov->rows[0].source == "harvested");
    CHECK(prov->rows[0].kind == "pgp");
  }
}
