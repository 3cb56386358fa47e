#include "audit/verify.h"

#include <catch2/catch.hpp>

#include "audit/audit_line.h"
#include "audit/audit_log.h"
#include "audit/chain_files.h"
#include "tests/unit/audit/temp_dir.h"
#include "tests/unit/audit/test_clock.h"

using namespace sealpost;
using namespace sealpost::audit;

namespace {

// Ten events, five per day over two days: files audit-2026-03-01 and -02.
void write_ten(const std::filesystem::path& dir, test::ManualClock& clock) {
  auto log = AuditLog::open(dir, clock.options());
  REQUIRE(log.ok());
  for (int i = 1; i <= 10; ++i) {
    if (i == 6) clock.advance(std::chrono::hours(24));
    (*log)->record(
        AuditEvent{"decision", {{"queue_id", "q" + std::to_string(i)}, {"method", "pgp"}}});
  }
}

std::filesystem::path day_file(const std::filesystem::path& dir, int day) {
  return dir / ("audit-2026-03-0" + std::to_string(day) + ".jsonl");
}

}  // namespace

TEST_CASE("an untouched log verifies") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);
  auto v = verify_chain(tmp.path());
  CHECK(v.intact);
  CHECK(v.events == 10);
  CHECK(v.head_seq == 10);
}

TEST_CASE("an empty directory is an intact, empty log") {
  test::TempDir tmp;
  CHECK(describe(verify_chain(tmp.path())) == "audit log intact (0 events)");
}

TEST_CASE("an edited line is named by event, file and line") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);
  const auto f = day_file(tmp.path(), 2);
  auto lines = test::read_lines(f);
  lines[2].replace(lines[2].find("pgp"), 3, "plain");  // event 8
  test::write_lines(f, lines);
  auto v = verify_chain(tmp.path());
  REQUIRE_FALSE(v.intact);
  CHECK(v.broken_event == 8);
  CHECK(v.file == f.string());
  CHECK(v.line == 3);
  CHECK(describe(v) ==
        "chain broken at event 8 (" + f.string() + ":3): hash does not match the record (edited)");
}

TEST_CASE("an edit with a recomputed hash is caught by the next line") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);
  const auto f = day_file(tmp.path(), 1);
  auto lines = test::read_lines(f);
  auto l = decode_line(lines[1]);  // event 2
  REQUIRE(l.ok());
  Line forged = *l;
  forged.fields = {{"queue_id", "q2"}, {"method", "plain"}};
  lines[1] = encode_line(forged);
  test::write_lines(f, lines);
  auto v = verify_chain(tmp.path());
  REQUIRE_FALSE(v.intact);
  CHECK(v.broken_event == 3);
  CHECK(v.line == 3);
  CHECK_THAT(v.reason, Catch::Contains("prev does not match"));
}

TEST_CASE("a removed line is named as missing") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);
  const auto f = day_file(tmp.path(), 1);
  auto lines = test::read_lines(f);
  lines.erase(lines.begin() + 3);  // event 4
  test::write_lines(f, lines);
  auto v = verify_chain(tmp.path());
  REQUIRE_FALSE(v.intact);
  CHECK(v.broken_event == 4);
  CHECK(v.file == f.string());
  CHECK(v.line == 4);
  CHECK_THAT(v.reason, Catch::Contains("expected event 4, found 5"));
}

TEST_CASE("removing the first file without a checkpoint is detected") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);
  std::filesystem::remove(day_file(tmp.path(), 1));
  auto v = verify_chain(tmp.path());
  REQUIRE_FALSE(v.intact);
  CHECK(v.broken_event == 6);
  CHECK(v.line == 1);
  CHECK_THAT(v.reason, Catch::Contains("no checkpoint"));
}

TEST_CASE("a line moved to another day's file is detected") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);
  // Renaming day 2's file to day 3 keeps every hash but lies about the date.
  std::filesystem::rename(day_file(tmp.path(), 2), day_file(tmp.path(), 3));
  auto v = verify_chain(tmp.path());
  REQUIRE_FALSE(v.intact);
  CHECK(v.broken_event == 6);
  CHECK_THAT(v.reason, Catch::Contains("is in the file for 2026-03-03"));
}

TEST_CASE("pruning keeps the chain verifiable through a checkpoint") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);  // now: 2026-03-02 09:00
  clock.advance(std::chrono::hours(24 * 3));
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    auto pruned = (*log)->prune(std::chrono::days(3));  // cutoff 2026-03-02: day 1 goes
    REQUIRE(pruned.ok());
    CHECK(*pruned == 1);
    (*log)->record(AuditEvent{"delivery", {{"queue_id", "q11"}}});
  }
  CHECK_FALSE(std::filesystem::exists(day_file(tmp.path(), 1)));
  auto v = verify_chain(tmp.path());
  CHECK(v.intact);
  CHECK(v.events == 7);  // events 6..10, the checkpoint, q11
  CHECK(v.head_seq == 12);

  SECTION("deleting the next file as well is still detected") {
    std::filesystem::remove(day_file(tmp.path(), 2));
    auto broken = verify_chain(tmp.path());
    REQUIRE_FALSE(broken.intact);
    CHECK_THAT(broken.reason, Catch::Contains("no checkpoint"));
  }
}

TEST_CASE("retention prunes automatically when the log is opened") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);
  clock.advance(std::chrono::hours(24 * 40));
  auto log = AuditLog::open(tmp.path(), clock.options(std::chrono::days(30)));
  REQUIRE(log.ok());
  CHECK(chain_files(tmp.path()).size() == 1);  // only today's, holding the checkpoint
  auto v = verify_chain(tmp.path());
  CHECK(v.intact);
  CHECK(v.events == 1);
  CHECK(v.head_seq == 11);
}

TEST_CASE("a crash between checkpoint and deletion still verifies") {
  test::TempDir tmp;
  test::ManualClock clock;
  write_ten(tmp.path(), clock);
  const auto day1 = test::read_lines(day_file(tmp.path(), 1));
  clock.advance(std::chrono::hours(24 * 3));
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    REQUIRE((*log)->prune(std::chrono::days(3)).ok());
  }
  test::write_lines(day_file(tmp.path(), 1), day1);  // as if the unlink never happened
  auto v = verify_chain(tmp.path());
  CHECK(v.intact);
  CHECK(v.events == 11);
}

TEST_CASE("a log directory that cannot be listed is not intact") {
  test::TempDir tmp;
  const auto not_a_dir = tmp.path() / "audit";
  test::write_lines(not_a_dir, {"x"});
  auto v = verify_chain(not_a_dir);
  REQUIRE_FALSE(v.intact);
  CHECK_THAT(v.reason, Catch::Contains("cannot list the directory"));
}
