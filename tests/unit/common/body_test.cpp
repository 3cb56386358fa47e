#include "common/body.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/spill_file.h"

using namespace sealpost;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("sp-body-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string pseudo_random(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string read_all_by_pieces(const Body& b) {
  std::string out;
  auto r = b.visit([&](std::string_view piece) {
    out.append(piece);
    return true;
  });
  REQUIRE(r.ok());
  CHECK(*r);
  return out;
}

}  // namespace

TEST_CASE("a small body stays in memory and reads back") {
  TempDir dir;
  BodyWriter w(SpillSettings{dir.path, 1024});
  REQUIRE(w.append("hello ").ok());
  REQUIRE(w.append("world").ok());
  CHECK_FALSE(w.spilled());
  auto body = w.finish();
  REQUIRE(body.ok());
  REQUIRE(body->memory() != nullptr);
  CHECK(*body->memory() == "hello world");
  CHECK(body->size() == 11);
  CHECK(*body->head(5) == "hello");
  CHECK(read_all_by_pieces(*body) == "hello world");
}

TEST_CASE("a large body spills to an encrypted anonymous file and reads back exactly") {
  TempDir dir;
  const std::string data = pseudo_random(3 * SpillFile::kRecordBytes + 12345, 7);
  BodyWriter w(SpillSettings{dir.path, 100000});
  // Odd piece sizes cross record boundaries in every way.
  for (std::size_t pos = 0; pos < data.size(); pos += 7777)
    REQUIRE(w.append(std::string_view(data).substr(pos, 7777)).ok());
  CHECK(w.spilled());
  auto body = w.finish();
  REQUIRE(body.ok());
  CHECK(body->memory() == nullptr);
  CHECK(body->size() == data.size());
  CHECK(read_all_by_pieces(*body) == data);
  CHECK(*body->to_string(data.size()) == data);
  CHECK_FALSE(body->to_string(data.size() - 1).ok());

  // Random access across record boundaries.
  char buf[100];
  const std::uint64_t at = SpillFile::kRecordBytes - 50;
  auto n = body->read_at(at, buf, sizeof buf);
  REQUIRE(n.ok());
  REQUIRE(*n == 50);  // a read stops at the end of a record
  CHECK(std::string(buf, 50) == data.substr(at, 50));
  n = body->read_at(data.size(), buf, sizeof buf);
  REQUIRE(n.ok());
  CHECK(*n == 0);

  // Nothing with a name is left in the spill directory, and no plaintext anywhere.
  CHECK(std::filesystem::is_empty(dir.path));
}

TEST_CASE("spill file content on disk is not the plaintext, and tampering is detected") {
  TempDir dir;
  auto f = SpillFile::create(dir.path);
  REQUIRE(f.ok());
  const std::string secret = std::string(200000, 'A') + "Befund: Diabetes";
  REQUIRE((*f)->append(secret).ok());
  REQUIRE((*f)->finish().ok());
  // Read the anonymous file through /proc to see what the disk holds.
  std::string on_disk;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec).string();
    if (target.find(dir.path.string()) != 0) continue;
    std::ifstream in(e.path(), std::ios::binary);
    on_disk.assign(std::istreambuf_iterator<char>(in), {});
    // Flip one byte of the second record (xor: a byte is never left as it was).
    std::fstream io(e.path(), std::ios::binary | std::ios::in | std::ios::out);
    const auto at = static_cast<std::streamoff>(SpillFile::kRecordBytes + 16 + 10);
    io.seekg(at);
    const char was = static_cast<char>(io.get());
    io.seekp(at);
    io.put(static_cast<char>(was ^ 0x5a));
  }
  REQUIRE(on_disk.size() > secret.size());
  CHECK(on_disk.find("Diabetes") == std::string::npos);
  CHECK(on_disk.find(std::string(64, 'A')) == std::string::npos);
  char buf[16];
  CHECK((*f)->read_at(0, buf, sizeof buf).ok());
  CHECK_FALSE((*f)->read_at(SpillFile::kRecordBytes + 5, buf, sizeof buf).ok());
}

TEST_CASE("without a spill directory everything stays in memory") {
  BodyWriter w;
  const std::string big(3u << 20, 'x');
  REQUIRE(w.append(big).ok());
  CHECK_FALSE(w.spilled());
  auto body = w.finish();
  REQUIRE(body.ok());
  CHECK(body->size() == big.size());
}

TEST_CASE("an unusable spill directory fails the writer, not the process") {
  BodyWriter w(SpillSettings{"/nonexistent/sealpost-spill", 4});
  CHECK_FALSE(w.append("more than four bytes").ok());
  CHECK_FALSE(w.append("again").ok());
  auto body = w.finish();
  REQUIRE_FALSE(body.ok());
  CHECK(body.error().temporary());
}
