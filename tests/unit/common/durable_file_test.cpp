#include "common/durable_file.h"

#include <catch2/catch.hpp>
#include <filesystem>

using namespace sealpost;

TEST_CASE("durable write replaces atomically and reads back") {
  auto dir = std::filesystem::temp_directory_path() / ("sp-df-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto f = dir / "x";
  REQUIRE(write_file_durable(f, "one").ok());
  REQUIRE(write_file_durable(f, "two").ok());
  auto r = read_file(f);
  REQUIRE(r.ok());
  CHECK(*r == "two");
  CHECK_FALSE(read_file(f, 2).ok());
  // no temp files left behind
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  CHECK(n == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("disk-full errors map to 452 4.3.1") {
  auto e = io_error(ENOSPC, "write", "/x");
  CHECK(e.smtp_code == 452);
  CHECK(e.enhanced == "4.3.1");
}
