#include "audit/audit_log.h"

#include <signal.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "audit/audit_line.h"
#include "audit/chain_files.h"
#include "audit/verify.h"
#include "tests/unit/audit/temp_dir.h"
#include "tests/unit/audit/test_clock.h"

using namespace sealpost;
using namespace sealpost::audit;

namespace {
AuditEvent delivery(int i) {
  return AuditEvent{"delivery",
                    {{"queue_id", "q" + std::to_string(i)},
                     {"recipient", "r@x.example"},
                     {"result", "delivered"}}};
}
}  // namespace

TEST_CASE("records are durable lines with a running seq and prev chain") {
  test::TempDir tmp;
  test::ManualClock clock;
  auto log = AuditLog::open(tmp.path(), clock.options());
  REQUIRE(log.ok());
  for (int i = 1; i <= 3; ++i) (*log)->record(delivery(i));
  CHECK((*log)->last_seq() == 3);
  auto files = chain_files(tmp.path());
  REQUIRE(files.size() == 1);
  CHECK(files[0].filename() == "audit-2026-03-01.jsonl");
  auto lines = test::read_lines(files[0]);
  REQUIRE(lines.size() == 3);
  auto l1 = decode_line(lines[0]);
  auto l2 = decode_line(lines[1]);
  REQUIRE(l1.ok());
  REQUIRE(l2.ok());
  CHECK(l1->seq == 1);
  CHECK(l1->prev == kGenesisHash);
  CHECK(l2->prev == l1->hash);
  CHECK(l1->time == "2026-03-01T09:00:00.000Z");
}

TEST_CASE("record_later keeps its place in the chain and is durable at the next sync") {
  test::TempDir tmp;
  test::ManualClock clock;
  auto log = AuditLog::open(tmp.path(), clock.options());
  REQUIRE(log.ok());
  (*log)->record_later(delivery(1));
  (*log)->record_later(delivery(2));
  // Not written yet: nothing on disk until something syncs.
  CHECK((chain_files(tmp.path()).empty() || test::read_lines(chain_files(tmp.path())[0]).empty()));
  (*log)->record(delivery(3));  // a durable record takes the earlier ones with it
  auto lines = test::read_lines(chain_files(tmp.path())[0]);
  REQUIRE(lines.size() == 3);
  (*log)->record_later(delivery(4));
  (*log)->sync();
  lines = test::read_lines(chain_files(tmp.path())[0]);
  REQUIRE(lines.size() == 4);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto l = decode_line(lines[i]);
    REQUIRE(l.ok());
    CHECK(l->seq == i + 1);
    CHECK(l->fields[0].second == "q" + std::to_string(i + 1));
  }
  (*log)->sync();  // nothing pending: returns at once
  CHECK(test::read_lines(chain_files(tmp.path())[0]).size() == 4);
}

TEST_CASE("a second writer is refused while the first holds the log") {
  test::TempDir tmp;
  auto first = AuditLog::open(tmp.path());
  REQUIRE(first.ok());
  auto second = AuditLog::open(tmp.path());
  REQUIRE_FALSE(second.ok());
  CHECK_THAT(second.error().what(), Catch::Contains("in use"));
}

TEST_CASE("reopening continues the chain; a torn tail is cut off") {
  test::TempDir tmp;
  test::ManualClock clock;
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    (*log)->record(delivery(1));
    (*log)->record(delivery(2));
  }
  const auto file = chain_files(tmp.path()).at(0);
  {
    std::ofstream torn(file, std::ios::app | std::ios::binary);
    torn << "{\"seq\":3,\"time\":\"2026-";  // a crash in the middle of a write
  }
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    CHECK((*log)->last_seq() == 2);
    (*log)->record(delivery(3));
  }
  auto v = verify_chain(tmp.path());
  CHECK(v.intact);
  CHECK(v.events == 3);
  CHECK(describe(v) == "audit log intact (3 events)");
}

TEST_CASE("a damaged last record stops the writer (fail closed)") {
  test::TempDir tmp;
  {
    auto log = AuditLog::open(tmp.path());
    REQUIRE(log.ok());
    (*log)->record(delivery(1));
  }
  const auto file = chain_files(tmp.path()).at(0);
  auto lines = test::read_lines(file);
  lines[0].replace(lines[0].find("r@x"), 1, "z");
  test::write_lines(file, lines);
  auto log = AuditLog::open(tmp.path());
  REQUIRE_FALSE(log.ok());
  CHECK_THAT(log.error().what(), Catch::Contains("damaged"));
}

TEST_CASE("callers cannot forge a checkpoint or store a subject") {
  test::TempDir tmp;
  {
    auto log = AuditLog::open(tmp.path());
    REQUIRE(log.ok());
    (*log)->record(AuditEvent{"checkpoint", {{"last_pruned_seq", "99"}, {"subject", "Befund"}}});
  }
  auto lines = test::read_lines(chain_files(tmp.path()).at(0));
  REQUIRE(lines.size() == 1);
  auto l = decode_line(lines[0]);
  REQUIRE(l.ok());
  CHECK(l->type == "invalid");
  CHECK(lines[0].find("Befund") == std::string::npos);
}

TEST_CASE("concurrent writers share fsyncs and never fork the chain") {
  test::TempDir tmp;
  auto log = AuditLog::open(tmp.path());
  REQUIRE(log.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) (*log)->record(delivery(t * 1000 + i));
    });
  for (auto& th : threads) th.join();
  auto v = verify_chain(tmp.path());
  CHECK(v.intact);
  CHECK(v.events == 400);
  CHECK(v.head_seq == 400);
}

TEST_CASE("records go to the file of their UTC day") {
  test::TempDir tmp;
  test::ManualClock clock;
  auto log = AuditLog::open(tmp.path(), clock.options());
  REQUIRE(log.ok());
  (*log)->record(delivery(1));
  clock.advance(std::chrono::hours(24));
  (*log)->record(delivery(2));
  auto files = chain_files(tmp.path());
  REQUIRE(files.size() == 2);
  CHECK(files[1].filename() == "audit-2026-03-02.jsonl");
  CHECK(verify_chain(tmp.path()).intact);
}

// Not run by default: `audit_tests "[.bench]"` prints events/s on this disk.
TEST_CASE("audit write throughput", "[.bench]") {
  test::TempDir tmp;
  auto log = AuditLog::open(tmp.path());
  REQUIRE(log.ok());
  for (int threads : {1, 8, 32}) {
    const int per_thread = 2000 / threads;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) (*log)->record(delivery(i));
      });
    for (auto& th : pool) th.join();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WARN(threads << " writer threads: " << static_cast<long>(threads * per_thread / secs)
                 << " events/s");
  }
  CHECK(verify_chain(tmp.path()).intact);
}

TEST_CASE("a failed write is retried in order and leaves no torn line") {
  test::TempDir tmp;
  auto log = AuditLog::open(tmp.path());
  REQUIRE(log.ok());
  (*log)->record(delivery(1));
  const auto file = chain_files(tmp.path()).at(0);
  const auto size = std::filesystem::file_size(file);

  // RLIMIT_FSIZE makes the next write fail with EFBIG, like a full disk would.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_action {};
  ::sigaction(SIGXFSZ, &ignore, &old_action);
  struct rlimit old_limit {};
  ::getrlimit(RLIMIT_FSIZE, &old_limit);
  struct rlimit tight = old_limit;
  tight.rlim_cur = size + 10;  // room for a fragment, not a whole line
  ::setrlimit(RLIMIT_FSIZE, &tight);
  (*log)->record(delivery(2));
  const bool healthy_while_full = (*log)->healthy();
  const auto size_while_full = std::filesystem::file_size(file);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &old_action, nullptr);

  CHECK_FALSE(healthy_while_full);
  CHECK(size_while_full == size);  // the fragment was cut off again
  SECTION("sync() alone retries once the disk has room") {
    (*log)->sync();
    CHECK((*log)->healthy());
    CHECK(verify_chain(tmp.path()).events == 2);
  }
  (*log)->record(delivery(3));  // writes 2 (if still queued) and 3
  CHECK((*log)->healthy());
  auto v = verify_chain(tmp.path());
  CHECK(v.intact);
  CHECK(v.events == 3);
}

TEST_CASE("the portal's chain can be made group-readable") {
  test::TempDir tmp;
  const auto dir = tmp.path() / "portal-audit";
  AuditLogOptions options;
  options.dir_mode = 0750;
  options.file_mode = 0640;
  auto log = AuditLog::open(dir, options);
  REQUIRE(log.ok());
  (*log)->record(AuditEvent{"pickup.opened", {{"pickup_id", "p1"}}});
  using std::filesystem::perms;
  CHECK((std::filesystem::status(dir).permissions() & perms::all) ==
        (perms::owner_all | perms::group_read | perms::group_exec));
  CHECK((std::filesystem::status(chain_files(dir).at(0)).permissions() & perms::all) ==
        (perms::owner_read | perms::owner_write | perms::group_read));
}

TEST_CASE("a clock that went back across a restart does not reorder the chain") {
  test::TempDir tmp;
  test::ManualClock clock;
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    (*log)->record(delivery(1));
  }
  clock.advance(std::chrono::hours(-48));
  {
    auto log = AuditLog::open(tmp.path(), clock.options());
    REQUIRE(log.ok());
    (*log)->record(delivery(2));
  }
  CHECK(chain_files(tmp.path()).size() == 1);
  CHECK(verify_chain(tmp.path()).intact);
}

TEST_CASE("record times parse back exactly") {
  const auto t = std::chrono::sys_days{std::chrono::year{2026} / 2 / 28} + std::chrono::hours(23) +
                 std::chrono::minutes(59) + std::chrono::milliseconds(59123);
  const auto back = parse_time(format_time(t));
  REQUIRE(back);
  CHECK(*back == t);
  CHECK_FALSE(parse_time("2026-02-30T00:00:00.000Z"));
  CHECK_FALSE(parse_time("2026-02-28 00:00:00.000Z"));
}
