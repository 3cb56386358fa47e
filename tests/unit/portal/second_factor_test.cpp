#include "portal/second_factor.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "portal/pickup_store.h"
#include "tests/unit/portal/temp_dir.h"

using namespace sealpost;
using namespace sealpost::pickup;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kDay = std::int64_t{24} * 3600;

struct Fixture {
  TempDir t;
  std::unique_ptr<PickupStore> store;
  Deposited d;
  Fixture(std::string method = "sms", std::string pass_hash = {}) {
    store = std::move(PickupStore::open(t.path / "pickup")).value();
    PickupRequest r;
    r.recipient = "p@example.org";
    r.sender = "dr@praxis.example";
    r.auth_method = std::move(method);
    r.sms_number = "+491511234567";
    r.passphrase_hash = std::move(pass_hash);
    d = std::move(store->deposit(r, "hello", kNow)).value();
  }
  PickupRecord record() { return std::move(store->unlock(d.id, d.secret, kNow)).value().record; }
};

std::string wrong_code(const std::string& code) {
  std::string w = code;
  w[0] = w[0] == '9' ? '0' : static_cast<char>(w[0] + 1);
  return w;
}

}  // namespace

TEST_CASE("a code verifies once, then is gone") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{});
  auto code = sf.issue_code(f.record(), f.d.secret, kNow);
  REQUIRE(code);
  CHECK(code->size() == 8);
  auto ok =
      sf.verify_code(f.record(), f.d.secret, code->substr(0, 4) + " " + code->substr(4), kNow + 5);
  REQUIRE(ok);
  CHECK(ok->verdict == Verdict::Ok);
  auto again = sf.verify_code(f.record(), f.d.secret, *code, kNow + 6);
  REQUIRE(again);
  CHECK(again->verdict == Verdict::Expired);
}

TEST_CASE("an expired code is refused") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{});
  auto code = sf.issue_code(f.record(), f.d.secret, kNow);
  REQUIRE(code);
  auto late = sf.verify_code(f.record(), f.d.secret, *code, kNow + 601);
  REQUIRE(late);
  CHECK(late->verdict == Verdict::Expired);
}

TEST_CASE("a code is bound to the link secret") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{});
  auto code = sf.issue_code(f.record(), f.d.secret, kNow);
  REQUIRE(code);
  SecretBytes other = new_link_secret();
  auto r = sf.verify_code(f.record(), other, *code, kNow);
  REQUIRE(r);
  CHECK(r->verdict == Verdict::Wrong);
}

TEST_CASE("max_attempts failures lock the pickup, even for the right code afterwards") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{3, std::chrono::seconds(600), 8});
  auto code = sf.issue_code(f.record(), f.d.secret, kNow);
  REQUIRE(code);
  auto r1 = sf.verify_code(f.record(), f.d.secret, wrong_code(*code), kNow);
  REQUIRE(r1);
  CHECK(r1->verdict == Verdict::Wrong);
  CHECK(r1->attempts_left == 2);
  auto r2 = sf.verify_code(f.record(), f.d.secret, "not a code", kNow);
  REQUIRE(r2);
  CHECK(r2->verdict == Verdict::Wrong);
  CHECK(r2->attempts_left == 1);
  auto r3 = sf.verify_code(f.record(), f.d.secret, wrong_code(*code), kNow);
  REQUIRE(r3);
  CHECK(r3->verdict == Verdict::Locked);

  auto u = f.store->unlock(f.d.id, f.d.secret, kNow);
  REQUIRE(u);
  CHECK(u->status == LinkStatus::Locked);
  auto r4 = sf.verify_code(u->record, f.d.secret, *code, kNow);
  REQUIRE(r4);
  CHECK(r4->verdict == Verdict::Locked);
}

TEST_CASE("passphrases verify with argon2id and failures count") {
  auto hash = hash_passphrase("korrekt pferd batterie");
  REQUIRE(hash);
  Fixture f("passphrase", *hash);
  auto u = f.store->unlock(f.d.id, f.d.secret, kNow);
  REQUIRE(u);
  REQUIRE(u->keys.passphrase_hash == *hash);
  SecondFactor sf(f.store->index(), FactorSettings{2, std::chrono::seconds(600), 8});
  auto bad = sf.verify_passphrase(u->record, u->keys.passphrase_hash, "korrekt pferd");
  REQUIRE(bad);
  CHECK(bad->verdict == Verdict::Wrong);
  auto good = sf.verify_passphrase(f.record(), u->keys.passphrase_hash, "korrekt pferd batterie");
  REQUIRE(good);
  CHECK(good->verdict == Verdict::Ok);
}

TEST_CASE("parallel guesses cannot evaluate more answers than max_attempts") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{3, std::chrono::seconds(600), 8});
  auto code = sf.issue_code(f.record(), f.d.secret, kNow);
  REQUIRE(code);
  const PickupRecord stale = f.record();  // every thread starts from attempts == 0
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<Check> checks;
  threads.reserve(16);
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&, i] {
      // One of them even has the right code: it must not get in after the limit.
      auto r = sf.verify_code(stale, f.d.secret, i == 15 ? *code : wrong_code(*code), kNow);
      std::lock_guard lock(mu);
      if (r) checks.push_back(*r);
    });
  for (auto& t : threads) t.join();
  REQUIRE(checks.size() == 16);
  int wrong = 0, locked = 0, newly = 0, ok = 0;
  for (const auto& c : checks) {
    wrong += c.verdict == Verdict::Wrong;
    locked += c.verdict == Verdict::Locked;
    newly += c.newly_locked;
    ok += c.verdict == Verdict::Ok;
  }
  // Three answers were evaluated (Wrong, Wrong, and the one that locked, or a
  // success among them); the rest were refused without being looked at.
  CHECK(wrong + ok <= 3);
  CHECK(newly <= 1);
  auto rec = f.store->index().find(f.d.id);
  REQUIRE(rec);
  REQUIRE(*rec);
  CHECK((**rec).attempts <= 3);
  if (ok == 0) {
    CHECK(newly == 1);
    CHECK((**rec).state == State::Locked);
  }
}

TEST_CASE("a lowered max_attempts locks at once, and the sender is told only once") {
  Fixture f;
  SecondFactor loose(f.store->index(), FactorSettings{5, std::chrono::seconds(600), 8});
  auto code = loose.issue_code(f.record(), f.d.secret, kNow);
  REQUIRE(code);
  for (int i = 0; i < 3; ++i) {
    auto r = loose.verify_code(f.record(), f.d.secret, wrong_code(*code), kNow);
    REQUIRE(r);
    CHECK(r->verdict == Verdict::Wrong);
  }
  SecondFactor strict(f.store->index(), FactorSettings{2, std::chrono::seconds(600), 8});
  auto first = strict.verify_code(f.record(), f.d.secret, *code, kNow);
  REQUIRE(first);
  CHECK(first->verdict == Verdict::Locked);
  CHECK(first->newly_locked);
  auto u = f.store->unlock(f.d.id, f.d.secret, kNow);
  REQUIRE(u);
  CHECK(u->status == LinkStatus::Locked);
  auto second = strict.verify_code(u->record, f.d.secret, *code, kNow);
  REQUIRE(second);
  CHECK(second->verdict == Verdict::Locked);
  CHECK_FALSE(second->newly_locked);
  auto spent = strict.exhausted(u->record);
  REQUIRE(spent);
  REQUIRE(*spent);
  CHECK_FALSE((*spent)->newly_locked);
}

TEST_CASE("a success gives its attempt back; only real failures stay counted") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{3, std::chrono::seconds(600), 8});
  auto code = sf.issue_code(f.record(), f.d.secret, kNow);
  REQUIRE(code);
  auto bad = sf.verify_code(f.record(), f.d.secret, wrong_code(*code), kNow);
  REQUIRE(bad);
  auto good = sf.verify_code(f.record(), f.d.secret, *code, kNow);
  REQUIRE(good);
  CHECK(good->verdict == Verdict::Ok);
  CHECK(f.record().attempts == 1);
}

TEST_CASE("a portal password opens later pickups of the same address, case aside") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{3, std::chrono::seconds(600), 8});
  auto has = sf.has_portal_password("P@Example.org");
  REQUIRE(has);
  CHECK_FALSE(*has);
  CHECK_FALSE(sf.set_portal_password("p@example.org", "kurz", kNow));  // too short
  REQUIRE(sf.set_portal_password("p@example.org", "Lindenallee zwoelf", kNow));
  has = sf.has_portal_password("P@EXAMPLE.ORG");
  REQUIRE(has);
  CHECK(*has);
  // The stored form is an argon2id hash, never the password.
  auto stored = f.store->index().find_password("p@example.org");
  REQUIRE(stored);
  REQUIRE(*stored);
  CHECK((**stored).hash.rfind("$argon2id$", 0) == 0);
  CHECK((**stored).hash.find("Lindenallee") == std::string::npos);

  PickupRequest later;
  later.recipient = "P@example.ORG";
  later.sender = "dr@praxis.example";
  later.auth_method = "sms";
  later.sms_number = "+491511234567";
  auto d2 = f.store->deposit(later, "second", kNow);
  REQUIRE(d2);
  auto rec = [&] { return std::move(f.store->unlock(d2->id, d2->secret, kNow)).value().record; };
  bool deleted = false;
  auto bad = sf.verify_portal_password(rec(), "Lindenallee elf", deleted);
  REQUIRE(bad);
  CHECK(bad->verdict == Verdict::Wrong);
  CHECK(bad->attempts_left == 2);  // counted against the pickup like a code
  CHECK_FALSE(deleted);
  auto good = sf.verify_portal_password(rec(), "Lindenallee zwoelf", deleted);
  REQUIRE(good);
  CHECK(good->verdict == Verdict::Ok);
  CHECK(rec().attempts == 1);  // the success gave its own attempt back
  stored = f.store->index().find_password("p@example.org");
  REQUIRE(stored);
  REQUIRE(*stored);
  CHECK((**stored).failures == 0);  // failures count in a row only
}

TEST_CASE("max_attempts wrong portal passwords in a row delete it and lock that pickup") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{3, std::chrono::seconds(600), 8});
  REQUIRE(sf.set_portal_password("p@example.org", "Lindenallee zwoelf", kNow));
  bool deleted = false;
  Result<Check> last = Check{};
  for (int i = 0; i < 3; ++i) {
    last = sf.verify_portal_password(f.record(), "falsch falsch", deleted);
    REQUIRE(last);
  }
  CHECK(last->verdict == Verdict::Locked);
  CHECK(last->newly_locked);
  CHECK(deleted);
  auto has = sf.has_portal_password("p@example.org");
  REQUIRE(has);
  CHECK_FALSE(*has);  // back to the code (for a new pickup) and a new password after it
}

TEST_CASE("a portal password goes with the last index row of its recipient") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{});
  REQUIRE(sf.set_portal_password("p@example.org", "Lindenallee zwoelf", kNow));
  REQUIRE(f.store->purge_expired(kNow + 400 * kDay));
  auto n = f.store->forget_old(kNow + 400 * kDay, std::chrono::hours(24));
  REQUIRE(n);
  CHECK(*n == 1);
  auto has = sf.has_portal_password("p@example.org");
  REQUIRE(has);
  CHECK_FALSE(*has);
}

TEST_CASE("a portal password offered where the address has none is answered, not counted") {
  Fixture f;
  SecondFactor sf(f.store->index(), FactorSettings{3, std::chrono::seconds(600), 8});
  bool deleted = false;
  for (int i = 0; i < 5; ++i) {  // more than max_attempts: a count would have locked it
    auto r = sf.verify_portal_password(f.record(), "irgendein Kennwort", deleted);
    REQUIRE(r);
    CHECK(r->verdict == Verdict::NoPassword);
    CHECK(r->attempts_left == 3);
    CHECK_FALSE(deleted);
  }
  CHECK(f.record().attempts == 0);
  // The pickup's own second factor still has every try.
  auto code = sf.issue_code(f.record(), f.d.secret, kNow);
  REQUIRE(code);
  auto ok = sf.verify_code(f.record(), f.d.secret, *code, kNow);
  REQUIRE(ok);
  CHECK(ok->verdict == Verdict::Ok);
}
