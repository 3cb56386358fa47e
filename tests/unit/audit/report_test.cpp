#include "audit/report.h"

#include <catch2/catch.hpp>

#include "audit/audit_log.h"
#include "tests/unit/audit/temp_dir.h"
#include "tests/unit/audit/test_clock.h"

using namespace sealpost;
using namespace sealpost::audit;

namespace {

AuditEvent decision(const std::string& rcpt, const std::string& method, const std::string& rule) {
  return AuditEvent{"decision",
                    {{"queue_id", "q"}, {"recipient", rcpt}, {"method", method}, {"rule", rule}}};
}
AuditEvent delivered(const std::string& rcpt, const std::string& method,
                     const std::string& result) {
  return AuditEvent{"delivery",
                    {{"queue_id", "q"},
                     {"recipient", rcpt},
                     {"method", method},
                     {"result", result},
                     {"reply", "550 5.1.1 =cmd|' /C calc'!A0"}}};
}

// Day 1 (2026-03-01): 3 decisions, 3 deliveries, 1 pickup opened.
// Day 2 (2026-03-02): 2 decisions, 1 delivery, 1 pickup expired.
void write_events(const std::filesystem::path& dir, test::ManualClock& clock) {
  auto log = AuditLog::open(dir, clock.options());
  REQUIRE(log.ok());
  auto& l = **log;
  l.record(decision("dr@praxis.example", "plain", "internal"));
  l.record(decision("a@Patient.example", "pgp", "patients"));
  l.record(decision("lab@labor-1.example", "smime", "labs"));
  l.record(delivered("dr@praxis.example", "plain", "delivered"));
  l.record(delivered("a@patient.example", "pgp", "delivered"));
  l.record(delivered("lab@labor-1.example", "smime", "failed"));
  l.record(AuditEvent{"pickup.opened", {{"pickup_id", "p1"}, {"recipient", "b@patient.example"}}});
  clock.advance(std::chrono::hours(24));
  l.record(decision("b@patient.example", "pickup", "patients"));
  l.record(decision("c@patient.example", "pgp", "patients"));
  l.record(delivered("c@patient.example", "pgp", "deferred"));
  l.record(AuditEvent{"pickup.expired", {{"pickup_id", "p1"}}});
}

}  // namespace

TEST_CASE("report counts match the events written") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_events(tmp.path(), clock);
  Report r = build_report({tmp.path()}, {});
  CHECK(r.events == 11);
  CHECK(r.unreadable == 0);
  CHECK(r.decisions_by_method == std::map<std::string, std::uint64_t>{
                                     {"pgp", 2}, {"pickup", 1}, {"plain", 1}, {"smime", 1}});
  CHECK(r.decisions_by_domain == std::map<std::string, std::uint64_t>{{"labor-1.example", 1},
                                                                      {"patient.example", 3},
                                                                      {"praxis.example", 1}});
  CHECK(r.deliveries["pgp"]["delivered"] == 1);
  CHECK(r.deliveries["pgp"]["deferred"] == 1);
  CHECK(r.deliveries["smime"]["failed"] == 1);
  REQUIRE(r.plaintext.size() == 1);
  CHECK(r.plaintext[0].recipient == "dr@praxis.example");
  CHECK(r.plaintext[0].rule == "internal");
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].recipient == "lab@labor-1.example");
  CHECK(r.pickups == std::map<std::string, std::uint64_t>{{"expired", 1}, {"opened", 1}});
}

TEST_CASE("the window selects whole days") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_events(tmp.path(), clock);
  Report day2 = build_report({tmp.path()}, {"2026-03-02", "2026-03-02"});
  CHECK(day2.events == 4);
  CHECK(day2.decisions_by_method ==
        std::map<std::string, std::uint64_t>{{"pgp", 1}, {"pickup", 1}});
  CHECK(day2.plaintext.empty());
  Report none = build_report({tmp.path()}, {"2026-04-01", ""});
  CHECK(none.events == 0);
}

TEST_CASE("tampered records are counted as unreadable, not reported") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_events(tmp.path(), clock);
  const auto f = tmp.path() / "audit-2026-03-01.jsonl";
  auto lines = test::read_lines(f);
  lines[0].replace(lines[0].find("plain"), 5, "pgp__");
  test::write_lines(f, lines);
  Report r = build_report({tmp.path()}, {});
  CHECK(r.unreadable == 1);
  CHECK(r.plaintext.empty());
  CHECK_THAT(render_markdown(r), Catch::Contains("failed their integrity check"));
}

TEST_CASE("renderers escape hostile values") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_events(tmp.path(), clock);
  Report r = build_report({tmp.path()}, {});
  const std::string csv = render_csv(r);
  CHECK_THAT(csv, Catch::Contains("decision_method,pgp,,2\n"));
  CHECK_THAT(csv, Catch::Contains("failure,lab@labor-1.example,550 5.1.1 =cmd|' /C calc'!A0,1"));
  const std::string md = render_markdown(r);
  CHECK_THAT(md, Catch::Contains("=cmd\\|'"));
  const std::string json = render_json(r);
  CHECK_THAT(json, Catch::Contains(
                       "\"decisions_by_method\":{\"pgp\":2,\"pickup\":1,\"plain\":1,\"smime\":1}"));
}

TEST_CASE("CSV cells cannot become spreadsheet formulas") {
  Report r;
  r.plaintext.push_back(PlaintextSend{"t", "q", "=HYPERLINK(\"x\")@evil.example", "rule,1"});
  const std::string csv = render_csv(r);
  CHECK_THAT(csv,
             Catch::Contains("plaintext,\"'=HYPERLINK(\"\"x\"\")@evil.example\",\"rule,1\",1\n"));
}

TEST_CASE("a recipient decided again on each retry is counted once, with its last decision") {
  test::TempDir tmp;
  test::ManualClock clock;
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    auto& l = **log;
    for (int attempt = 0; attempt < 3; ++attempt)  // deferred twice, then sent in plain
      l.record(decision("dr@praxis.example", attempt < 2 ? "pgp" : "plain", "internal"));
    l.record(AuditEvent{"decision",
                        {{"queue_id", "q2"},
                         {"recipient", "dr@praxis.example"},
                         {"method", "plain"},
                         {"rule", "internal"}}});
  }
  Report r = build_report({tmp.path()}, {});
  CHECK(r.decisions_by_method == std::map<std::string, std::uint64_t>{{"plain", 2}});
  CHECK(r.decisions_by_domain == std::map<std::string, std::uint64_t>{{"praxis.example", 2}});
  CHECK(r.plaintext.size() == 2);
}
