// Spool encryption at rest (issue 8): the sealed container, key files, and
// rotation through FileSpool.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/durable_file.h"
#include "common/secure_random.h"
#include "relay/spool/file_spool.h"
#include "relay/spool/sealed_file.h"
#include "relay/spool/spool_key.h"
#include "tests/unit/spool/temp_dir.h"

using namespace sealpost;
using namespace sealpost::spool;
namespace fs = std::filesystem;

namespace {

SpoolKey make_key(char fill) {
  return SpoolKey::from_bytes(std::string(kSpoolKeyBytes, fill), "test").value();
}

SpoolKeyring ring(char current, std::initializer_list<char> old = {}) {
  std::vector<SpoolKey> olds;
  for (char c : old) olds.push_back(make_key(c));
  return SpoolKeyring(make_key(current), std::move(olds));
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

std::string read_all(const fs::path& p) {
  auto r = read_file(p, 1u << 30);
  REQUIRE(r.ok());
  return *r;
}

// Writes `data` through a spool in odd-sized chunks and commits it.
std::string commit(FileSpool& spool, const std::string& data, const char* rcpt) {
  auto w = spool.begin();
  REQUIRE(w.ok());
  for (std::size_t i = 0; i < data.size(); i += 4093)
    REQUIRE((*w)->write(std::string_view(data).substr(i, 4093)).ok());
  SpoolEnvelope env;
  env.mail_from = "arzt@praxis.example";
  env.rcpts.emplace_back().address = rcpt;
  auto id = (*w)->commit(env);
  REQUIRE(id.ok());
  return *id;
}

Result<std::string> open_file(const fs::path& p, const SpoolKeyring& keys, OpenFailure* why) {
  return open_all(p, SealedKind::Data, keys, 1u << 30, why);
}

}  // namespace

TEST_CASE("sealed files round-trip at every record boundary") {
  testing::TempDir dir;
  const auto keys = ring('a');
  for (std::size_t size :
       {std::size_t{0}, std::size_t{1}, kSealedRecordBytes - 1, kSealedRecordBytes,
        kSealedRecordBytes + 1, 3 * kSealedRecordBytes + 7}) {
    const std::string plain = random_bytes(size);
    auto sealed = seal_all(keys.current(), SealedKind::Data, plain);
    REQUIRE(sealed.ok());
    const auto records = size / kSealedRecordBytes + 1;
    CHECK(sealed->size() <= kSealedHeaderBytes + size + records * kSealedRecordOverhead);
    write_bytes(dir.path() / "f", *sealed);
    OpenFailure why = OpenFailure::None;
    auto back = open_file(dir.path() / "f", keys, &why);
    REQUIRE(back.ok());
    CHECK(*back == plain);
  }
}

TEST_CASE("a flipped byte anywhere fails authentication") {
  testing::TempDir dir;
  const auto keys = ring('a');
  const std::string plain(2 * kSealedRecordBytes + 100, 'p');
  const std::string sealed = seal_all(keys.current(), SealedKind::Data, plain).value();
  // Salt, first record's nonce, ciphertext in the middle, last tag.
  for (std::size_t pos :
       {std::size_t{20}, kSealedHeaderBytes + 7, sealed.size() / 2, sealed.size() - 1}) {
    std::string bad = sealed;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    write_bytes(dir.path() / "f", bad);
    OpenFailure why = OpenFailure::None;
    CHECK_FALSE(open_file(dir.path() / "f", keys, &why).ok());
    CHECK(why == OpenFailure::Corrupt);
  }
}

TEST_CASE("truncation, reordering and trailing bytes are detected") {
  testing::TempDir dir;
  const auto keys = ring('a');
  const std::string plain(3 * kSealedRecordBytes, 'q');  // 3 full records + empty final
  const std::string sealed = seal_all(keys.current(), SealedKind::Data, plain).value();
  const std::size_t rec = kSealedRecordBytes + kSealedRecordOverhead;
  OpenFailure why = OpenFailure::None;

  SECTION("cut at a record boundary") {
    write_bytes(dir.path() / "f", sealed.substr(0, kSealedHeaderBytes + 2 * rec));
  }
  SECTION("cut inside a record") {
    write_bytes(dir.path() / "f", sealed.substr(0, 1000));
  }
  SECTION("records swapped") {
    std::string swapped = sealed.substr(0, kSealedHeaderBytes);
    swapped += sealed.substr(kSealedHeaderBytes + rec, rec);
    swapped += sealed.substr(kSealedHeaderBytes, rec);
    swapped += sealed.substr(kSealedHeaderBytes + 2 * rec);
    write_bytes(dir.path() / "f", swapped);
  }
  SECTION("bytes after the final record") {
    write_bytes(dir.path() / "f", sealed + "x");
  }
  SECTION("an envelope header on data") {
    std::string other = sealed;
    other.replace(0, 4, "SPEV");
    write_bytes(dir.path() / "f", other);
  }
  CHECK_FALSE(open_file(dir.path() / "f", keys, &why).ok());
  CHECK(why == OpenFailure::Corrupt);
}

TEST_CASE("a file sealed with a key we do not hold is unknown, not corrupt") {
  testing::TempDir dir;
  write_bytes(dir.path() / "f", seal_all(make_key('a'), SealedKind::Data, "secret").value());
  OpenFailure why = OpenFailure::None;
  auto r = open_file(dir.path() / "f", ring('b'), &why);
  REQUIRE_FALSE(r.ok());
  CHECK(why == OpenFailure::UnknownKey);
  CHECK(open_file(dir.path() / "f", ring('b', {'a'}), &why).value() == "secret");
}

TEST_CASE("key files: raw or hex, private, right size") {
  testing::TempDir dir;
  const auto raw = dir.path() / "raw.key";
  const auto hex = dir.path() / "hex.key";
  write_bytes(raw, std::string(32, '\x11'));
  write_bytes(hex, std::string(64, '1') + "\n");
  ::chmod(raw.c_str(), 0600);
  ::chmod(hex.c_str(), 0400);
  auto a = read_spool_key_file(raw);
  auto b = read_spool_key_file(hex);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->id() == b->id());  // the same 32 bytes of 0x11
  CHECK(a->id_hex().size() == 16);

  ::chmod(raw.c_str(), 0640);
  CHECK_FALSE(read_spool_key_file(raw).ok());  // group-readable: refused
  write_bytes(hex, std::string(63, '1') + "g");
  CHECK_FALSE(read_spool_key_file(hex).ok());
  write_bytes(hex, "short");
  CHECK_FALSE(read_spool_key_file(hex).ok());

  const auto made = dir.path() / "new.key";
  auto created = create_spool_key_file(made);
  REQUIRE(created.ok());
  struct stat st {};
  REQUIRE(::stat(made.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read_spool_key_file(made)->id() == created->id());
  CHECK_FALSE(create_spool_key_file(made).ok());  // never overwrites a key
  CHECK(read_spool_key_file(made)->id() == created->id());
}

TEST_CASE("key creation is atomic: no temp file left, one key among racing starters") {
  testing::TempDir dir;
  const auto path = dir.path() / "spool.key";
  std::vector<std::thread> starters;
  std::vector<int> won(8, 0);
  for (std::size_t i = 0; i < won.size(); ++i)
    starters.emplace_back([&, i] { won[i] = create_spool_key_file(path).ok() ? 1 : 0; });
  for (auto& t : starters) t.join();
  int winners = 0;
  for (int w : won) winners += w;
  CHECK(winners == 1);
  REQUIRE(read_spool_key_file(path).ok());
  CHECK(fs::file_size(path) == kSpoolKeyBytes);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  CHECK(names == std::vector<std::string>{"spool.key"});  // no temp file stays behind
}

TEST_CASE("the CLI keeps the keys it read before it changed its rights") {
  testing::TempDir dir;
  const QueueConfig q;
  const std::string id = commit(**FileSpool::open(dir.path()), "x\r\n", "a@example.org");
  SpoolKeyring::preload_for_cli(SpoolKeySettings{}, dir.path());
  // Gone (or, for the CLI after its switch, no longer readable): the preloaded key is used.
  fs::remove(dir.path() / "spool.key");
  auto cli = FileSpool::open(dir.path(), q, KeyUser::Cli);
  REQUIRE(cli.ok());
  CHECK((*cli)->load_data(id).value() == "x\r\n");
  // Other settings or another state dir are not served from it.
  QueueConfig other;
  other.spool_key = (dir.path() / "missing.key").string();
  CHECK_FALSE(FileSpool::open(dir.path(), other, KeyUser::Cli).ok());
}

TEST_CASE("no address, subject or body reaches the spool directory in clear") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path(), ring('a'));
  REQUIRE(spool.ok());
  const std::string body =
      "Subject: Befund-XYZ\r\n\r\n" + std::string(200000, 'b') + "DIAGNOSE\r\n";
  const auto id = commit(**spool, body, "patient-secret@example.org");
  for (const auto& e : fs::recursive_directory_iterator(dir.path() / "spool")) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = read_all(e.path());
    CHECK(bytes.find("Befund-XYZ") == std::string::npos);
    CHECK(bytes.find("DIAGNOSE") == std::string::npos);
    CHECK(bytes.find("patient-secret") == std::string::npos);
    CHECK(bytes.find("arzt@praxis") == std::string::npos);
  }
  CHECK((*spool)->load_data(id).value() == body);
  CHECK((*spool)->load_envelope(id)->rcpts[0].address == "patient-secret@example.org");
}

TEST_CASE("tampered spool files are quarantined, never delivered half") {
  testing::TempDir dir;
  auto spool = FileSpool::open(dir.path(), ring('a'));
  REQUIRE(spool.ok());
  const std::string body(100000, 'm');
  const auto data_id = commit(**spool, body, "a@example.org");
  const auto env_id = commit(**spool, body, "b@example.org");

  auto data = read_all((*spool)->paths().data(data_id));
  data[data.size() - 5] ^= 0x40;
  write_bytes((*spool)->paths().data(data_id), data);
  CHECK_FALSE((*spool)->load_data(data_id).ok());
  CHECK(fs::exists((*spool)->paths().corrupt / (data_id + ".msg")));
  CHECK(fs::exists((*spool)->paths().corrupt / (data_id + ".env")));

  const auto env_path = (*spool)->paths().envelope(env_id);
  auto env = read_all(env_path);
  write_bytes(env_path, env.substr(0, env.size() - 1));
  CHECK((*spool)->list().empty());
  CHECK(fs::exists((*spool)->paths().corrupt / (env_id + ".env")));
}

TEST_CASE("rotation: old files read with the old key, new ones written with the new") {
  testing::TempDir dir;
  std::string id;
  {
    auto before = FileSpool::open(dir.path(), ring('1'));
    REQUIRE(before.ok());
    id = commit(**before, "Subject: old\r\n\r\nold body\r\n", "a@example.org");
  }
  SECTION("without the old key the message waits (not quarantined)") {
    auto after = FileSpool::open(dir.path(), ring('2'));
    REQUIRE(after.ok());
    CHECK((*after)->list().empty());
    CHECK_FALSE((*after)->load_data(id).ok());
    CHECK(fs::exists((*after)->paths().data(id)));
    CHECK(fs::exists((*after)->paths().envelope(id)));
  }
  SECTION("with the old key it is read; updates move the envelope to the new key") {
    auto after = FileSpool::open(dir.path(), ring('2', {'1'}));
    REQUIRE(after.ok());
    REQUIRE((*after)->list() == std::vector<std::string>{id});
    CHECK((*after)->old_key_files() == 2);
    CHECK((*after)->load_data(id).value() == "Subject: old\r\n\r\nold body\r\n");
    auto env = (*after)->load_envelope(id);
    REQUIRE(env.ok());
    env->rcpts[0].attempts = 1;
    REQUIRE((*after)->update(*env).ok());
    CHECK((*after)->old_key_files() == 1);  // the data file drains with the message
    CHECK(sealed_key_id((*after)->paths().envelope(id)).value() == make_key('2').id());

    const auto fresh = commit(**after, "new\r\n", "b@example.org");
    CHECK(sealed_key_id((*after)->paths().data(fresh)).value() == make_key('2').id());
    REQUIRE((*after)->remove(id).ok());
    CHECK((*after)->old_key_files() == 0);  // now the old key can go
    auto only_new = FileSpool::open(dir.path(), ring('2'));
    CHECK((*only_new)->load_data(fresh).value() == "new\r\n");
  }
}

TEST_CASE("the default key is created once in state_dir, mode 0600") {
  testing::TempDir dir;
  std::string id;
  {
    auto spool = FileSpool::open(dir.path());
    REQUIRE(spool.ok());
    id = commit(**spool, "x\r\n", "a@example.org");
  }
  struct stat st {};
  REQUIRE(::stat((dir.path() / "spool.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = FileSpool::open(dir.path());  // same key: reads what the first wrote
  CHECK((*again)->load_data(id).value() == "x\r\n");
}

TEST_CASE("the CLI never creates a key") {
  testing::TempDir dir;
  const QueueConfig q;
  // Empty spool, no key: fine (`queue list` says the queue is empty).
  auto empty = FileSpool::open(dir.path(), q, KeyUser::Cli);
  REQUIRE(empty.ok());
  CHECK((*empty)->list().empty());
  CHECK_FALSE(fs::exists(dir.path() / "spool.key"));
  // Mail queued under a key the CLI cannot find: a clear error.
  commit(**FileSpool::open(dir.path(), ring('a')), "x\r\n", "a@example.org");
  auto cli = FileSpool::open(dir.path(), q, KeyUser::Cli);
  REQUIRE_FALSE(cli.ok());
  CHECK(std::string(cli.error().what()).find("no spool key") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "spool.key"));
}

TEST_CASE("a big message is read in pieces, exactly, at every record boundary") {
  sealpost::testing::TempDir dir;
  auto spool = FileSpool::open(dir.path(), ring('a'));
  REQUIRE(spool.ok());
  (*spool)->set_memory_limit(0);  // every message takes the streaming path
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, kSealedRecordBytes - 1, kSealedRecordBytes,
        kSealedRecordBytes + 1, 2 * kSealedRecordBytes, 3 * kSealedRecordBytes + 7}) {
    std::string data(n, '\0');
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>('a' + (i * 7919) % 26);
    const std::string id = commit(**spool, data, "p@patient.example");
    auto body = (*spool)->load_body(id);
    REQUIRE(body.ok());
    CHECK(body->memory() == nullptr);
    REQUIRE(body->size() == n);
    std::string back;
    REQUIRE(body->visit([&](std::string_view p) {
                  back.append(p);
                  return true;
                })
                .ok());
    CHECK(back == data);
    if (n > 10) {  // random access near the end: a read stops at a record's end
      char buf[16];
      std::string tail;
      for (std::uint64_t at = n - 10; at < n;) {
        auto got = body->read_at(at, buf, sizeof buf);
        REQUIRE(got.ok());
        REQUIRE(*got > 0);
        tail.append(buf, *got);
        at += *got;
      }
      CHECK(tail == data.substr(n - 10));
    }
  }
}

TEST_CASE("a truncated or extended big message is refused before anything is read") {
  sealpost::testing::TempDir dir;
  auto spool = FileSpool::open(dir.path(), ring('a'));
  REQUIRE(spool.ok());
  (*spool)->set_memory_limit(0);
  const std::string data(3 * kSealedRecordBytes + 100, 'x');
  const std::string cut = commit(**spool, data, "a@patient.example");
  const std::string grown = commit(**spool, data, "b@patient.example");
  const auto cut_path = (*spool)->paths().data(cut);
  fs::resize_file(cut_path, fs::file_size(cut_path) - (kSealedRecordBytes + kSealedRecordOverhead));
  CHECK_FALSE((*spool)->load_body(cut).ok());
  CHECK(fs::exists((*spool)->paths().corrupt));  // quarantined for an admin
  std::ofstream((*spool)->paths().data(grown), std::ios::binary | std::ios::app) << "trailing";
  CHECK_FALSE((*spool)->load_body(grown).ok());
}

TEST_CASE("a big message damaged in its middle is quarantined before delivery starts") {
  sealpost::testing::TempDir dir;
  auto spool = FileSpool::open(dir.path(), ring('a'));
  REQUIRE(spool.ok());
  (*spool)->set_memory_limit(0);
  const std::string data(3 * kSealedRecordBytes + 100, 'x');
  const std::string id = commit(**spool, data, "a@patient.example");
  const auto path = (*spool)->paths().data(id);
  auto bytes = read_all(path);
  // A byte inside record 1: neither the header nor the final record notices it.
  bytes[kSealedHeaderBytes + kSealedRecordBytes + kSealedRecordOverhead + 100] ^= 0x01;
  write_bytes(path, bytes);
  CHECK_FALSE((*spool)->load_body(id).ok());
  CHECK(fs::exists((*spool)->paths().corrupt / (id + ".msg")));
  CHECK(fs::exists((*spool)->paths().corrupt / (id + ".env")));
}

TEST_CASE("upgrade: a state_dir key left by an earlier install stays an old key") {
  testing::TempDir dir;
  // The earlier install: no credential, sealpostd created <state_dir>/spool.key.
  std::string id;
  {
    auto before = FileSpool::open(dir.path());
    REQUIRE(before.ok());
    id = commit(**before, "Subject: queued\r\n\r\nbefore the upgrade\r\n", "a@example.org");
  }
  REQUIRE(fs::exists(dir.path() / "spool.key"));
  // The upgrade: the key now comes from outside state_dir (queue.spool_key here;
  // the systemd credential takes the same path through current_key()).
  testing::TempDir etc;
  const auto new_key = etc.path() / "spool.key";
  write_bytes(new_key, std::string(64, 'c'));
  ::chmod(new_key.c_str(), 0600);
  QueueConfig q;
  q.spool_key = new_key.string();
  for (const auto user : {KeyUser::Daemon, KeyUser::Cli}) {
    auto after = FileSpool::open(dir.path(), q, user);
    REQUIRE(after.ok());
    REQUIRE((*after)->list() == std::vector<std::string>{id});
    CHECK((*after)->load_data(id).value() == "Subject: queued\r\n\r\nbefore the upgrade\r\n");
    const auto fresh = commit(**after, "new\r\n", "b@example.org");
    CHECK(sealed_key_id((*after)->paths().data(fresh)).value() ==
          read_spool_key_file(new_key).value().id());
    REQUIRE((*after)->remove(fresh).ok());
  }
  SECTION("a damaged leftover key is an error, not skipped") {
    write_bytes(dir.path() / "spool.key", "short");
    ::chmod((dir.path() / "spool.key").c_str(), 0600);
    auto after = FileSpool::open(dir.path(), q, KeyUser::Daemon);
    REQUIRE_FALSE(after.ok());
    CHECK(std::string(after.error().what()).find("spool.key") != std::string::npos);
  }
}
