#include "portal/pickup_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "tests/unit/portal/temp_dir.h"

using namespace sealpost;
using namespace sealpost::pickup;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;

const std::string kMime =
    "From: dr@praxis.example\r\nTo: patient@example.org\r\n"
    "Subject: Befund Blutbild Mueller\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
    "Ihr Laborwert HbA1c liegt bei 7,9 Prozent.\r\n--b\r\nContent-Type: application/pdf\r\n"
    "Content-Disposition: attachment; "
    "filename=\"Laborbefund-Mueller.pdf\"\r\n\r\nPDFDATA\r\n--b--\r\n";

PickupRequest request(std::string method = "sms") {
  PickupRequest r;
  r.queue_id = "q1";
  r.recipient = "patient@example.org";
  r.sender = "dr@praxis.example";
  r.auth_method = std::move(method);
  r.sms_number = "+4915112345678";
  r.expires = std::chrono::hours(24);
  return r;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("deposit and unlock round-trips the exact message") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  auto d = (*store)->deposit(request(), kMime, kNow);
  REQUIRE(d);
  CHECK(valid_pickup_id(d->id));
  CHECK(d->expires == kNow + kDay);

  auto u = (*store)->unlock(d->id, d->secret, kNow + 10);
  REQUIRE(u);
  REQUIRE(u->status == LinkStatus::Ok);
  CHECK(u->record.recipient == "patient@example.org");
  CHECK(u->keys.sms_number == "+4915112345678");
  auto m = (*store)->read_message(*u);
  REQUIRE(m);
  CHECK(*m == kMime);
}

TEST_CASE("a wrong or tampered secret is Invalid and reveals nothing") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  auto d = (*store)->deposit(request(), kMime, kNow);
  REQUIRE(d);

  std::string bytes = d->secret.bytes();
  bytes[5] ^= 0x01;
  auto u = (*store)->unlock(d->id, SecretBytes(bytes), kNow);
  REQUIRE(u);
  CHECK(u->status == LinkStatus::Invalid);
  CHECK(u->record.recipient.empty());
  CHECK((*store)->read_message(*u).ok() == false);

  // Unknown id with the right secret looks the same as a wrong secret.
  std::string other = d->id;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  auto v = (*store)->unlock(other, d->secret, kNow);
  REQUIRE(v);
  CHECK(v->status == LinkStatus::Invalid);
}

TEST_CASE("link secrets decode only in their canonical form") {
  SecretBytes s = new_link_secret();
  std::string text = encode_link_secret(s);
  CHECK(text.size() == 43);
  auto back = decode_link_secret(text);
  REQUIRE(back);
  CHECK(back->bytes() == s.bytes());
  CHECK_FALSE(decode_link_secret(text.substr(0, 42)));
  CHECK_FALSE(decode_link_secret(text + "A"));
  CHECK_FALSE(decode_link_secret(std::string(43, '*')));
}

TEST_CASE("disk and database without the link reveal no content, subject or filename") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  auto d = (*store)->deposit(request(), kMime, kNow);
  REQUIRE(d);
  store->reset();  // flush and close the database

  const std::string secret_text = encode_link_secret(d->secret);
  const std::string sealed = slurp(t.path / "pickup" / "blobs" / (d->id + ".sealed")).substr(6);
  std::string wrapped;
  {
    auto reopened = PickupStore::open(t.path / "pickup");
    REQUIRE(reopened);
    auto rec = (*reopened)->index().find(d->id);
    REQUIRE(rec);
    REQUIRE(*rec);
    wrapped = (**rec).wrapped_key;
  }
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(t.path)) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::string data = slurp(e.path());
    INFO(e.path().string());
    for (const char* needle :
         {"Befund", "Blutbild", "HbA1c", "Laborbefund-Mueller", "PDFDATA", "4915112345678"})
      CHECK(data.find(needle) == std::string::npos);
    CHECK(data.find(d->secret.bytes()) == std::string::npos);
    CHECK(data.find(secret_text) == std::string::npos);
    // Every window of every file is tried as the content key, as the KEK and
    // as the link secret, the way an attacker with the disk would.
    std::size_t opened = 0;
    for (std::size_t off = 0; off + kKeyBytes <= data.size(); ++off) {
      SecretBytes guess(data.substr(off, kKeyBytes));
      opened += open(guess, sealed, "sealpost-pickup-blob|" + d->id).ok();
      opened += open(guess, wrapped, "sealpost-pickup-keys|" + d->id).ok();
      opened += open(derive_kek(guess, d->id), wrapped, "sealpost-pickup-keys|" + d->id).ok();
    }
    CHECK(opened == 0);
  }
  CHECK(files >= 2);
}

namespace {

// Every file the index consists of, WAL and shared memory included.
std::string index_files(const std::filesystem::path& dir) {
  std::string all;
  for (const char* name : {"index.db", "index.db-wal", "index.db-shm"})
    if (std::filesystem::exists(dir / name)) all += slurp(dir / name);
  return all;
}

}  // namespace

TEST_CASE("a shred leaves the wrapped key in neither index.db nor its -wal or -shm") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  std::vector<Deposited> deps;
  std::vector<std::string> wrapped;
  for (int i = 0; i < 3; ++i) {
    auto d = (*store)->deposit(request(), kMime, kNow);
    REQUIRE(d);
    auto rec = (*store)->index().find(d->id);
    REQUIRE(rec);
    REQUIRE(*rec);
    REQUIRE((**rec).wrapped_key.size() > 32);
    wrapped.push_back((**rec).wrapped_key);
    deps.push_back(std::move(*d));
  }
  // The scan finds live keys (here, before any shred: in the WAL or the database).
  for (const auto& w : wrapped) CHECK(index_files(t.path / "pickup").find(w) != std::string::npos);

  // Shredded while the store stays open, as in the running portal (WAL mode).
  REQUIRE((*store)->revoke(deps[0].id));
  auto n = (*store)->purge_expired(kNow + 2 * kDay);  // the other two expire
  REQUIRE(n);
  CHECK(*n == 2);
  CHECK(std::filesystem::exists(t.path / "pickup" / "index.db-wal"));  // still in WAL mode
  const std::string after = index_files(t.path / "pickup");
  for (const auto& w : wrapped) {
    CHECK(after.find(w) == std::string::npos);
    CHECK(after.find(w.substr(w.size() - 16)) == std::string::npos);  // not even the tag
  }
}

TEST_CASE("index rows of shredded pickups go after the retention; live ones stay") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  auto old = (*store)->deposit(request(), kMime, kNow);  // expires kNow + 1d
  REQUIRE(old);
  auto live = (*store)->deposit(request(), kMime, kNow + 100 * kDay);
  REQUIRE(live);
  const std::int64_t later = kNow + kDay + 90 * kDay + 60;
  REQUIRE((*store)->purge_expired(kNow + 2 * kDay));
  // Within the retention the row stays and the holder is told "gone".
  auto kept = (*store)->forget_old(kNow + 30 * kDay, std::chrono::hours(24 * 90));
  REQUIRE(kept);
  CHECK(*kept == 0);
  auto gone = (*store)->unlock(old->id, old->secret, kNow + 30 * kDay);
  REQUIRE(gone);
  CHECK(gone->status == LinkStatus::Gone);
  auto n = (*store)->forget_old(later, std::chrono::hours(24 * 90));
  REQUIRE(n);
  CHECK(*n == 1);
  auto row = (*store)->index().find(old->id);
  REQUIRE(row);
  CHECK_FALSE(*row);
  CHECK(index_files(t.path / "pickup").find(old->id) == std::string::npos);
  auto u = (*store)->unlock(live->id, live->secret, later);
  REQUIRE(u);
  CHECK(u->status == LinkStatus::Ok);  // not shredded: never forgotten
}

TEST_CASE("expiry shreds blob and key material; the holder sees Gone") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  auto d = (*store)->deposit(request(), kMime, kNow);
  REQUIRE(d);
  auto keep = (*store)->deposit(request(), kMime, kNow + 23 * kHour);
  REQUIRE(keep);

  std::vector<std::string> told;  // what the portal audits as pickup.expired
  auto n = (*store)->purge_expired(
      kNow + kDay, [&told](const PickupRecord& r) { told.push_back(r.id + " " + r.recipient); });
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(told == std::vector<std::string>{d->id + " patient@example.org"});
  CHECK_FALSE(std::filesystem::exists(t.path / "pickup" / "blobs" / (d->id + ".sealed")));
  CHECK(std::filesystem::exists(t.path / "pickup" / "blobs" / (keep->id + ".sealed")));
  auto rec = (*store)->index().find(d->id);
  REQUIRE(rec);
  REQUIRE(*rec);
  CHECK((**rec).wrapped_key.empty());
  CHECK((**rec).state == State::Expired);

  auto u = (*store)->unlock(d->id, d->secret, kNow);  // even with a clock set back
  REQUIRE(u);
  CHECK(u->status == LinkStatus::Gone);
  auto again = (*store)->purge_expired(kNow + kDay);
  REQUIRE(again);
  CHECK(*again == 0);
}

TEST_CASE("revoke shreds at once") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  auto d = (*store)->deposit(request(), kMime, kNow);
  REQUIRE(d);
  REQUIRE((*store)->revoke(d->id));
  auto u = (*store)->unlock(d->id, d->secret, kNow);
  REQUIRE(u);
  CHECK(u->status == LinkStatus::Gone);
  CHECK_FALSE((*store)->revoke("doesnotexistdoesnotexist22"));
}

TEST_CASE("deposit refuses requests whose second factor cannot work") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  auto no_number = request();
  no_number.sms_number.clear();
  CHECK_FALSE((*store)->deposit(no_number, kMime, kNow));
  auto bad_number = request();
  bad_number.sms_number = "+49 151 --help";
  CHECK_FALSE((*store)->deposit(bad_number, kMime, kNow));
  CHECK_FALSE((*store)->deposit(request("passphrase"), kMime, kNow));
  CHECK_FALSE((*store)->deposit(request("telepathy"), kMime, kNow));
  auto forever = request();
  forever.expires = std::chrono::hours(24 * 400);
  CHECK_FALSE((*store)->deposit(forever, kMime, kNow));
}

TEST_CASE("StorePickupService builds a link that unlocks") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  StorePickupService svc(**store, "https://pickup.praxis.example/");
  auto dep = svc.deposit(request(), kMime);
  REQUIRE(dep);
  const std::string prefix = "https://pickup.praxis.example/p/" + dep->pickup_id + "/";
  REQUIRE(dep->url.rfind(prefix, 0) == 0);
  auto secret = decode_link_secret(dep->url.substr(prefix.size()));
  REQUIRE(secret);
  auto u = (*store)->unlock(dep->pickup_id, *secret, dep->expires_at - 60);
  REQUIRE(u);
  CHECK(u->status == LinkStatus::Ok);
}

TEST_CASE(
    "a group-shared pickup dir (packaged 2770) gets group-writable files; a new one is private") {
  const auto mode_of = [](const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
  };
  const mode_t old_umask = ::umask(077);  // as under sealpostd.service's UMask=0077
  TempDir t;
  {
    auto store = PickupStore::open(t.path / "private");
    REQUIRE(store);
    auto d = (*store)->deposit(request(), kMime, kNow);
    REQUIRE(d);
    CHECK(mode_of(t.path / "private") == 0700);
    CHECK(mode_of(t.path / "private" / "blobs") == 0700);
    CHECK(mode_of(t.path / "private" / "index.db") == 0600);
    CHECK(mode_of(t.path / "private" / "blobs" / (d->id + ".sealed")) == 0600);
  }
  {
    const auto shared = t.path / "shared";
    REQUIRE(::mkdir(shared.c_str(), 0700) == 0);
    REQUIRE(::chmod(shared.c_str(), 02770) == 0);
    auto store = PickupStore::open(shared);
    REQUIRE(store);
    auto d = (*store)->deposit(request(), kMime, kNow);
    REQUIRE(d);
    CHECK(mode_of(shared / "blobs") == 02770);
    CHECK(mode_of(shared / "index.db") == 0660);
    CHECK(mode_of(shared / "blobs" / (d->id + ".sealed")) == 0660);
  }
  ::umask(old_umask);
}

TEST_CASE("a checkpoint a reader blocked is owed and done by the next purge, even an empty one") {
  TempDir t;
  auto store = PickupStore::open(t.path / "pickup");
  REQUIRE(store);
  auto d = (*store)->deposit(request(), kMime, kNow);
  REQUIRE(d);
  auto rec = (*store)->index().find(d->id);
  REQUIRE(rec);
  REQUIRE(*rec);
  const std::string wrapped = (**rec).wrapped_key;
  // Another process (e.g. `sealpost pickup list`) holds a read snapshot.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2((t.path / "pickup" / "index.db").c_str(), &raw, SQLITE_OPEN_READONLY,
                          nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> reader(raw, sqlite3_close);
  REQUIRE(sqlite3_exec(reader.get(), "BEGIN; SELECT count(*) FROM pickups;", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  REQUIRE((*store)->revoke(d->id));  // shreds; its checkpoint waits 5 s, then gives up
  CHECK(index_files(t.path / "pickup").find(wrapped) != std::string::npos);  // still in the WAL
  REQUIRE(sqlite3_exec(reader.get(), "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  reader.reset();
  // A purge with nothing to shred or forget still pays the owed checkpoint.
  auto n = (*store)->forget_old(kNow, std::chrono::hours(24 * 90));
  REQUIRE(n);
  CHECK(*n == 0);
  CHECK(std::filesystem::file_size(t.path / "pickup" / "index.db-wal") == 0);
  CHECK(index_files(t.path / "pickup").find(wrapped) == std::string::npos);
}

TEST_CASE("a symlink in place of index.db is refused, its target left alone") {
  TempDir t;
  std::filesystem::create_directories(t.path / "pickup");
  const auto target = t.path / "elsewhere";
  { std::ofstream(target) << "not yours"; }
  ::chmod(target.c_str(), 0644);
  std::filesystem::create_symlink(target, t.path / "pickup" / "index.db");
  auto store = PickupStore::open(t.path / "pickup");
  CHECK_FALSE(store);
  CHECK(slurp(target) == "not yours");
  struct stat st {};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);  // no chmod through the link either
}
