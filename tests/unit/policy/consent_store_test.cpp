#include "policy/consent_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
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

TEST_CASE("import_all merges: never older over newer, second factor kept") {
  TempDir dir;
  auto opened = open_sqlite_consent_store((dir.path / "sealpost.db").string(), true);
  REQUIRE(opened.ok());
  ConsentStore& store = **opened;
  // On file: a withdrawal, a grant with both second factors, a revocation
  // and a grant made the same day as the import lines below.
  REQUIRE(store.set({"withdrew@example.org", Consent::Revoked, "2026-03-01", "cli", "+49 1", "$h1"})
              .ok());
  REQUIRE(store.set({"granted@example.org", Consent::Granted, "2026-01-10", "cli", "+49 2", "$h2"})
              .ok());
  REQUIRE(store.set({"sameday@example.org", Consent::Revoked, "2026-02-02", "cli", "", ""}).ok());
  REQUIRE(store.set({"same@example.org", Consent::Granted, "2026-02-02", "cli", "+49 4", ""}).ok());

  using Action = ConsentMerge::Action;
  std::vector<ConsentRecord> csv{
      {"Withdrew@example.org", Consent::Granted, "2025-12-01", "import:old.csv", "", ""},
      {"granted@example.org", Consent::Granted, "2026-04-01", "import:old.csv", "", ""},
      {"sameday@example.org", Consent::Granted, "2026-02-02", "import:old.csv", "", ""},
      {"same@example.org", Consent::Granted, "2026-02-02", "import:old.csv", "", ""},
      {"new@example.org", Consent::Granted, "2026-01-01", "import:old.csv", "+49 5", ""},
      {"granted2@example.org", Consent::Revoked, "2026-01-01", "import:old.csv", "", ""}};
  auto outcomes = store.import_all(csv);
  REQUIRE(outcomes.ok());
  REQUIRE(outcomes->size() == csv.size());
  CHECK((*outcomes)[0].action == Action::Skip);
  CHECK((*outcomes)[0].reason ==
        "on record: revoked on 2026-03-01, newer than this granted of 2025-12-01");
  CHECK((*outcomes)[1].action == Action::Update);
  CHECK((*outcomes)[2].action == Action::Skip);
  CHECK((*outcomes)[2].reason.find("revocation on the same day is kept") != std::string::npos);
  CHECK((*outcomes)[3].action == Action::Unchanged);
  CHECK((*outcomes)[4].action == Action::Add);
  CHECK((*outcomes)[5].action == Action::Add);

  auto withdrew = store.get("withdrew@example.org");
  REQUIRE(withdrew.ok());
  CHECK((*withdrew)->state == Consent::Revoked);  // the withdrawal stands
  CHECK((*withdrew)->date == "2026-03-01");
  CHECK((*withdrew)->passphrase_hash == "$h1");
  auto granted = store.get("granted@example.org");
  CHECK((*granted)->date == "2026-04-01");
  CHECK((*granted)->source == "import:old.csv");
  CHECK((*granted)->sms_number == "+49 2");     // the CSV named none: kept
  CHECK((*granted)->passphrase_hash == "$h2");  // a CSV never carries one: kept
  CHECK((*store.get("sameday@example.org"))->state == Consent::Revoked);
  CHECK((*store.get("new@example.org"))->sms_number == "+49 5");
  CHECK(store.list()->size() == 6);
}

TEST_CASE("merge_consent: a newer revocation wins, a newer grant replaces an old revocation") {
  using Action = ConsentMerge::Action;
  const ConsentRecord revoked{"p@example.org", Consent::Revoked, "2026-01-05",
                              "cli",           "+49 1",          "$h"};
  auto regrant = merge_consent(
      revoked, {"P@example.org", Consent::Granted, "2026-01-06", "import:x", "+49 9", ""});
  CHECK(regrant.action == Action::Update);
  CHECK(regrant.result.address == "p@example.org");
  CHECK(regrant.result.state == Consent::Granted);
  CHECK(regrant.result.sms_number == "+49 9");  // the CSV names a new number
  CHECK(regrant.result.passphrase_hash == "$h");
  const ConsentRecord granted{"p@example.org", Consent::Granted, "2026-01-05", "cli", "", "$h"};
  auto same_day_revoke =
      merge_consent(granted, {"p@example.org", Consent::Revoked, "2026-01-05", "import:x", "", ""});
  CHECK(same_day_revoke.action == Action::Update);
  CHECK(same_day_revoke.result.state == Consent::Revoked);
  auto old_revoke =
      merge_consent(granted, {"p@example.org", Consent::Revoked, "2026-01-04", "import:x", "", ""});
  CHECK(old_revoke.action == Action::Skip);
}

TEST_CASE("consent CSV: valid files parse, bad lines name their line") {
  auto ok = parse_consent_csv(
      "address,state,date,sms\n# comment\n\nA@Example.org, granted ,2026-01-15,+49 171 2345678\r\n"
      "b@example.org,revoked,2025-12-31\n",
      "c.csv", "import:c.csv");
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 2);
  CHECK((*ok)[0].line == 4);
  CHECK((*ok)[0].record.address == "a@example.org");
  CHECK((*ok)[0].record.sms_number == "+49 171 2345678");
  CHECK((*ok)[0].record.source == "import:c.csv");
  CHECK((*ok)[1].line == 5);
  CHECK((*ok)[1].record.state == Consent::Revoked);

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
      {"a@example.org,granted,2026-01-01\nb@example.org,revoked,2999-01-01\n",
       "c.csv:2: date 2999-01-01 is in the future"},
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
  // 2026-03-01 12:00 UTC: tomorrow is today already in UTC+14, the day after is not.
  const auto noon = std::chrono::sys_days{std::chrono::year{2026} / 3 / 1} + std::chrono::hours(12);
  CHECK_FALSE(is_future_date("2026-03-01", noon));
  CHECK_FALSE(is_future_date("2026-03-02", noon));
  CHECK(is_future_date("2026-03-03", noon));
  CHECK(is_future_date("2999-01-01"));
  CHECK_FALSE(is_future_date("2020-01-01"));
  CHECK(is_sms_number("+491712345678"));
  CHECK_FALSE(is_sms_number("12+34567"));
  CHECK_FALSE(is_sms_number("123"));
  CHECK(is_plausible_address("a.b@example.org"));
  CHECK_FALSE(is_plausible_address("a@b@example.org"));
  CHECK_FALSE(is_plausible_address("a b@example.org"));
  CHECK_FALSE(is_plausible_address("a@localhost"));
}
