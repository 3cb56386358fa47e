#include "audit/report.h"

#include <algorithm>
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
  CHECK(r.plaintext_not_delivered.empty());
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].recipient == "lab@labor-1.example");
  CHECK(r.held.empty());
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
  r.plaintext.push_back(
      PlaintextSend{"t", "q", "=HYPERLINK(\"x\")@evil.example", "rule,1", "delivered"});
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
  CHECK(r.plaintext.empty());  // no delivery recorded yet
  REQUIRE(r.plaintext_not_delivered.size() == 2);
  CHECK(r.plaintext_not_delivered[0].result.empty());
}

AuditEvent outcome(const std::string& queue_id, const std::string& rcpt, const std::string& method,
                   const std::string& result, const std::string& reply) {
  return AuditEvent{"delivery",
                    {{"queue_id", queue_id},
                     {"recipient", rcpt},
                     {"method", method},
                     {"result", result},
                     {"reply", reply}}};
}

TEST_CASE("plaintext sends are listed as delivered only when they were") {
  test::TempDir tmp;
  test::ManualClock clock;
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    auto& l = **log;
    for (const char* r : {"ok@praxis.example", "bad@praxis.example", "held@praxis.example",
                          "late@praxis.example", "open@praxis.example"})
      l.record(decision(r, "plain", "internal"));
    l.record(decision("p@patient.example", "pgp", "patients"));
    l.record(outcome("q", "ok@praxis.example", "plain", "delivered", "250 2.0.0 ok"));
    l.record(outcome("q", "bad@praxis.example", "plain", "failed", "550 5.1.1 unknown"));
    l.record(outcome("q", "held@praxis.example", "plain", "held", "local 5.6.0 MIME too deep"));
    l.record(outcome("q", "late@praxis.example", "plain", "deferred", "451 4.3.0 later"));
    l.record(outcome("q", "late@praxis.example", "plain", "delivered", "250 2.0.0 ok"));
    l.record(outcome("q", "p@patient.example", "pgp", "held", "local 5.7.1 hold rule"));
    l.record(outcome("other", "open@praxis.example", "plain", "delivered", "250 2.0.0 ok"));
  }
  Report r = build_report({tmp.path()}, {});
  std::vector<std::string> sent, not_sent;
  for (const auto& p : r.plaintext) sent.push_back(p.recipient);
  for (const auto& p : r.plaintext_not_delivered)
    not_sent.push_back(p.recipient + "=" + (p.result.empty() ? "-" : p.result));
  std::sort(sent.begin(), sent.end());
  std::sort(not_sent.begin(), not_sent.end());
  CHECK(sent == std::vector<std::string>{"late@praxis.example", "ok@praxis.example"});
  // A delivery of another message to the same address does not count.
  CHECK(not_sent == std::vector<std::string>{"bad@praxis.example=failed",
                                             "held@praxis.example=held", "open@praxis.example=-"});
  REQUIRE(r.held.size() == 2);
  CHECK(r.held[0].recipient == "held@praxis.example");
  CHECK(r.held[0].reply == "local 5.6.0 MIME too deep");
  CHECK(r.held[1].method == "pgp");
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].recipient == "bad@praxis.example");
  CHECK(r.deliveries["plain"]["delivered"] == 3);

  const std::string json = render_json(r);
  CHECK_THAT(json, Catch::Contains("\"recipient\":\"bad@praxis.example\",\"rule\":\"internal\","
                                   "\"result\":\"failed\"}"));
  CHECK_THAT(json, Catch::Contains("\"held\":[{"));
  const std::string md = render_markdown(r);
  CHECK_THAT(md, Catch::Contains("## Held deliveries"));
  CHECK_THAT(md, Catch::Contains("| open@praxis.example | internal | none yet |"));
  const std::string csv = render_csv(r);
  CHECK_THAT(csv,
             Catch::Contains("plaintext_not_delivered,held@praxis.example,internal: held,1\n"));
  CHECK_THAT(csv, Catch::Contains("held,p@patient.example,local 5.7.1 hold rule,1\n"));
}

TEST_CASE("pickups are counted once per pickup and kind, visits separately") {
  test::TempDir tmp;
  test::ManualClock clock;
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    auto& l = **log;
    for (const char* id : {"p1", "p1", "p1", "p2"})
      l.record(AuditEvent{"pickup.opened", {{"pickup_id", id}, {"recipient", "a@b.example"}}});
    for (int i = 0; i < 2; ++i) l.record(AuditEvent{"pickup.failed", {{"pickup_id", "p1"}}});
    l.record(AuditEvent{"pickup.purged", {{"count", "3"}}});
    l.record(AuditEvent{"pickup.purged", {{"count", "2"}}});
    l.record(AuditEvent{"pickup.revoked", {{"pickup_id", "p2"}}});
  }
  Report r = build_report({tmp.path()}, {});
  CHECK(r.pickups == std::map<std::string, std::uint64_t>{
                         {"failed", 1}, {"opened", 2}, {"purged", 5}, {"revoked", 1}});
  CHECK(r.pickup_events == std::map<std::string, std::uint64_t>{
                               {"failed", 2}, {"opened", 4}, {"purged", 2}, {"revoked", 1}});
  CHECK_THAT(render_markdown(r), Catch::Contains("| opened | 2 | 4 |"));
  CHECK_THAT(render_json(r), Catch::Contains("\"pickups\":{\"failed\":1,\"opened\":2,\"purged\":5,"
                                             "\"revoked\":1},\"pickup_events\":{"));
}
