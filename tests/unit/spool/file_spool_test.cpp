#include "relay/spool/file_spool.h"

#include <sys/stat.h>
#include <utime.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/durable_file.h"
#include "tests/unit/spool/temp_dir.h"

using namespace sealpost;
using namespace sealpost::spool;
namespace fs = std::filesystem;

namespace {

SpoolEnvelope envelope_for(std::initializer_list<const char*> rcpts) {
  SpoolEnvelope env;
  env.mail_from = "arzt@praxis.example";
  for (const char* r : rcpts) {
    SpoolRecipient rcpt;
    rcpt.address = r;
    env.rcpts.push_back(rcpt);
  }
  return env;
}

std::string commit_message(FileSpool& spool, std::string_view data,
                           std::initializer_list<const char*> rcpts = {"a@example.org"}) {
  auto w = spool.begin();
  REQUIRE(w.ok());
  // Odd chunk sizes, as DATA delivers them.
  for (std::size_t i = 0; i < data.size(); i += 7) REQUIRE((*w)->write(data.substr(i, 7)).ok());
  auto id = (*w)->commit(envelope_for(rcpts));
  REQUIRE(id.ok());
  return *id;
}

std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

void make_old(const fs::path& p) {
  struct utimbuf times {};
  times.actime = times.modtime = std::time(nullptr) - 7200;
  REQUIRE(::utime(p.c_str(), &times) == 0);
}

}  // namespace

TEST_CASE("a committed message is listed, loadable and streamable") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  const std::string data = "Subject: x\r\n\r\nbody line\r\n";
  const auto id = commit_message(**spool, data, {"a@example.org", "b@example.org"});

  auto ids = (*spool)->list();
  REQUIRE(ids.size() == 1);
  CHECK(ids[0] == id);
  auto env = (*spool)->load_envelope(id);
  REQUIRE(env.ok());
  CHECK(env->id == id);
  CHECK(env->size == data.size());
  CHECK(env->arrival > 0);
  CHECK(env->rcpts.size() == 2);
  auto loaded = (*spool)->load_data(id);
  REQUIRE(loaded.ok());
  CHECK(*loaded == data);
  auto path = (*spool)->data_path(id);
  REQUIRE(path.ok());
  auto direct = read_file(*path);
  REQUIRE(direct.ok());
  CHECK(direct->find("body line") == std::string::npos);  // encrypted at rest
  auto reader = (*spool)->open_data(id);
  REQUIRE(reader.ok());
  std::string streamed;
  while (true) {
    auto more = reader->next(streamed, nullptr);
    REQUIRE(more.ok());
    if (!*more) break;
  }
  CHECK(streamed == data);
  CHECK(files_in((*spool)->paths().incoming) == 0);
}

TEST_CASE("an uncommitted writer leaves nothing behind") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  {
    auto w = (*spool)->begin();
    REQUIRE(w.ok());
    REQUIRE((*w)->write("partial data").ok());
    CHECK(files_in((*spool)->paths().incoming) == 1);
  }
  CHECK(files_in((*spool)->paths().incoming) == 0);
  CHECK((*spool)->list().empty());
}

TEST_CASE("update rewrites recipient state durably; remove deletes; no resurrection") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  const auto id = commit_message(**spool, "x\r\n");
  auto env = (*spool)->load_envelope(id);
  REQUIRE(env.ok());
  env->rcpts[0].status = RcptStatus::Delivered;
  env->rcpts[0].last_reply = "250 2.0.0 ok";
  REQUIRE((*spool)->update(*env).ok());

  // A second FileSpool over the same directory (a restart, or the CLI) sees it.
  auto again = FileSpool::open(dir.path());
  REQUIRE(again.ok());
  auto reloaded = (*again)->load_envelope(id);
  REQUIRE(reloaded.ok());
  CHECK(reloaded->rcpts[0].status == RcptStatus::Delivered);
  CHECK(reloaded->rcpts[0].last_reply == "250 2.0.0 ok");

  REQUIRE((*again)->remove(id).ok());
  CHECK((*spool)->list().empty());
  CHECK_FALSE((*spool)->update(*env).ok());  // the daemon finishing late must not revive it
  CHECK_FALSE((*spool)->load_envelope(id).ok());
  CHECK(files_in((*spool)->paths().queue) == 0);
}

TEST_CASE("modify changes an envelope under the lock") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  const auto id = commit_message(**spool, "x\r\n");
  auto env = (*spool)->load_envelope(id);
  env->rcpts[0].next_attempt = 99999999999;
  REQUIRE((*spool)->update(*env).ok());
  REQUIRE((*spool)
              ->modify(id,
                       [](SpoolEnvelope& e) {
                         e.rcpts[0].next_attempt = 0;
                         return true;
                       })
              .ok());
  CHECK((*spool)->load_envelope(id)->rcpts[0].next_attempt == 0);
  CHECK_FALSE((*spool)->modify("nosuchid", [](SpoolEnvelope&) { return true; }).ok());
}

TEST_CASE("a corrupt envelope is moved to corrupt/ with its data, never listed") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  const auto good = commit_message(**spool, "good\r\n");
  const auto bad = commit_message(**spool, "bad\r\n");
  const auto env_path = (*spool)->paths().envelope(bad);
  {
    // Simulate a torn write: keep only the first half of the envelope.
    auto bytes = read_file(env_path);
    REQUIRE(bytes.ok());
    std::ofstream(env_path, std::ios::binary | std::ios::trunc)
        << bytes->substr(0, bytes->size() / 2);
  }
  auto ids = (*spool)->list();
  REQUIRE(ids.size() == 1);
  CHECK(ids[0] == good);
  CHECK(fs::exists((*spool)->paths().corrupt / (bad + ".env")));
  CHECK(fs::exists((*spool)->paths().corrupt / (bad + ".msg")));
  CHECK_FALSE(fs::exists(env_path));
}

TEST_CASE("orphaned data from an interrupted commit is set aside once old") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  const auto orphan = (*spool)->paths().data("0000orphan");
  std::ofstream(orphan) << "data";
  (*spool)->list();
  CHECK(fs::exists(orphan));  // young: a commit may be in progress
  make_old(orphan);
  CHECK((*spool)->list().empty());
  CHECK_FALSE(fs::exists(orphan));
  CHECK(fs::exists((*spool)->paths().corrupt / "0000orphan.msg"));
}

TEST_CASE("queue ids that could escape the spool are refused") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  CHECK_FALSE((*spool)->load_envelope("../../etc/passwd").ok());
  CHECK_FALSE((*spool)->data_path("a/b").ok());
  CHECK_FALSE((*spool)->remove("").ok());
  CHECK_FALSE((*spool)->load_data("ABC").ok());
}

// Run by hand: ./spool_tests "[.bench]" — commits per second with fsync on this disk.
TEST_CASE("commit throughput", "[.bench]") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  const std::string data(50 * 1024, 'x');
  constexpr int kCommits = 300;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCommits; ++i) {
    auto w = (*spool)->begin();
    REQUIRE(w.ok());
    for (std::size_t off = 0; off < data.size(); off += 4096)
      REQUIRE((*w)->write(std::string_view(data).substr(off, 4096)).ok());
    REQUIRE((*w)->commit(envelope_for({"a@example.org"})).ok());
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("%d commits of 50 KiB in %.2fs: %.0f commits/s\n", kCommits, took.count(),
              kCommits / took.count());
}

// Same with 4 concurrent writers, as several SMTP sessions commit at once.
TEST_CASE("commit throughput, 4 writers", "[.bench]") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path());
  REQUIRE(spool.ok());
  const std::string data(50 * 1024, 'x');
  constexpr int kPerThread = 100;
  std::atomic<int> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto w = (*spool)->begin();
        if (!w || !(*w)->write(data) || !(*w)->commit(envelope_for({"a@example.org"}))) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  CHECK(failures == 0);
  std::printf("%d commits of 50 KiB by 4 writers in %.2fs: %.0f commits/s\n", 4 * kPerThread,
              took.count(), 4 * kPerThread / took.count());
}
