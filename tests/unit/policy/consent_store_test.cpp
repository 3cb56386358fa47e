#include "policy/consent_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "policy/consent_csv.h"

using namespace sealpost::policy;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("sealpost-consent-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("consent store: add, get, revoke, list, reopen") {
  TempDir dir;
  std::string db = (dir.path / "sealpost.db").string();
  CHECK_FALSE(open_sqlite_consent_store(db, false).ok());  // not created on read
  {
    auto opened = open_sqlite_consent_store(db, true);
    REQUIRE(opened.ok());
    ConsentStore& store = **opened;
    REQUIRE(
        store.set({"Patient@Example.org", Consent::Granted, "2026-01-15", "cli", "+49 171 1", ""})
            .ok());
    REQUIRE(store.set({"b@example.org", Consent::Granted, "2026-02-01", "cli", "", "$argon2id$x"})
                .ok());
    auto got = store.get("patient@example.ORG");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->address == "patient@example.org");
    CHECK((*got)->state == Consent::Granted);
    CHECK((*got)->sms_number == "+49 171 1");
    REQUIRE(store.revoke("b@example.org", "2026-03-01", "cli").ok());
    CHECK_FALSE(store.revoke("nobody@example.org", "2026-03-01", "cli").ok());
    auto none = store.get("nobody@example.org");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
  }
  auto reopened = open_sqlite_consent_store(db, false);
  REQUIRE(reopened.ok());
  auto all = (*reopened)->list();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].address == "b@example.org");
  CHECK((*all)[0].state == Consent::Revoked);
  CHECK((*all)[0].date == "2026-03-01");
  CHECK((*all)[0].passphrase_hash == "$argon2id$x");
  auto states =
      lookup_consent(**reopened, {"Patient@example.org", "b@example.org", "c@example.org"});
  REQUIRE(states.ok());
  CHECK(states->at("patient@example.org") == Consent::Granted);
  CHECK(states->at("b@example.org") == Consent::Revoked);
  CHECK(states->count("c@example.org") == 0);
}

TEST_CASE("set_all imports everything in one transaction") {
  TempDir dir;
  auto opened = open_sqlite_consent_store((dir.path / "sealpost.db").string(), true);
  REQUIRE(opened.ok());
  ConsentStore& store = **opened;
  std::vector<ConsentRecord> records{
      {"a@example.org", Consent::Granted, "2026-01-01", "import", "", ""},
      {"b@example.org", Consent::Revoked, "2026-01-02", "import", "", ""}};
  REQUIRE(store.set_all(records).ok());
  CHECK(store.list()->size() == 2);
}

TEST_CASE("consent CSV: valid files parse, bad lines name their line") {
  auto ok = parse_consent_csv(
      "address,state,date,sms\n# comment\n\nA@Example.org, granted ,2026-01-15,+49 171 2345678\r\n"
      "b@example.org,revoked,2025-12-31\n",
      "c.csv", "import:c.csv");
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 2);
  CHECK((*ok)[0].address == "a@example.org");
  CHECK((*ok)[0].sms_number == "+49 171 2345678");
  CHECK((*ok)[0].source == "import:c.csv");
  CHECK((*ok)[1].state == Consent::Revoked);

  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"a@example.org,granted\n", "c.csv:1: expected address,state,date[,sms] (2 fields)"},
      {"a@example.org,granted,2026-01-01\nnot-an-address,granted,2026-01-01\n",
       "c.csv:2: not an e-mail address"},
      {"a@example.org,maybe,2026-01-01\n", "c.csv:1: state must be granted or revoked"},
      {"a@example.org,granted,2026-02-30\n", "c.csv:1: date must be YYYY-MM-DD"},
      {"a@example.org,granted,26-01-01\n", "c.csv:1: date must be YYYY-MM-DD"},
      {"a@example.org,granted,2026-01-01,call me\n", "c.csv:1: sms number"},
      {"a@example.org,granted,2026-01-01\nA@example.org,revoked,2026-01-02\n",
       "c.csv:2: address listed twice"},
      {"\"a@example.org\",granted,2026-01-01\n", "c.csv:1: quoted fields are not supported"},
      {"a@example.org,granted,2026-01-01\naddress,state,date\n", "c.csv:2: not an e-mail address"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse_consent_csv(c.text, "c.csv", "import");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().what().find(c.expected) == 0);
  }
}

TEST_CASE("consent field checks") {
  CHECK(is_iso_date("2024-02-29"));
  CHECK_FALSE(is_iso_date("2023-02-29"));
  CHECK_FALSE(is_iso_date("2023-13-01"));
  CHECK(is_sms_number("+491712345678"));
  CHECK_FALSE(is_sms_number("12+34567"));
  CHECK_FALSE(is_sms_number("123"));
  CHECK(is_plausible_address("a.b@example.org"));
  CHECK_FALSE(is_plausible_address("a@b@example.org"));
  CHECK_FALSE(is_plausible_address("a b@example.org"));
  CHECK_FALSE(is_plausible_address("a@localhost"));
}
