#include "common/units.h"

#include <catch2/catch.hpp>

using namespace sealpost;

TEST_CASE("sizes parse with binary and decimal units") {
  CHECK(parse_size("50MiB") == 50ull * 1024 * 1024);
  CHECK(parse_size("10 MB") == 10'000'000ull);
  CHECK(parse_size("1024") == 1024u);
  CHECK_FALSE(parse_size("MiB").has_value());
  CHECK_FALSE(parse_size("5 parsecs").has_value());
  CHECK_FALSE(parse_size("99999999999999999999GiB").has_value());
}

TEST_CASE("durations parse with s/m/h/d") {
  CHECK(parse_duration("30d")->count() == 30 * 86400);
  CHECK(parse_duration("5m")->count() == 300);
  CHECK(parse_duration("90")->count() == 90);
  CHECK_FALSE(parse_duration("-1s").has_value());
  CHECK_FALSE(parse_duration("1 fortnight").has_value());
}
