#include "metrics/metrics_settings.h"

#include <catch2/catch.hpp>

using namespace sealpost::metrics;

TEST_CASE("metrics are off unless configured") {
  auto s = parse_metrics_settings("state_dir: /x\n", "s.yaml");
  REQUIRE(s.ok());
  CHECK_FALSE(s->listen);
}

TEST_CASE("metrics.listen must be a loopback address") {
  auto ok = parse_metrics_settings("metrics:\n  listen: \"127.0.0.1:9187\"\n", "s.yaml");
  REQUIRE(ok.ok());
  CHECK(*ok->listen == "127.0.0.1:9187");
  auto v6 = parse_metrics_settings("metrics: {listen: \"[::1]:9187\"}\n", "s.yaml");
  REQUIRE(v6.ok());
  auto open = parse_metrics_settings("metrics:\n  listen: \"0.0.0.0:9187\"\n", "s.yaml");
  REQUIRE_FALSE(open.ok());
  CHECK_THAT(open.error().what(), Catch::Contains("s.yaml:2"));
  auto unknown = parse_metrics_settings("metrics:\n  port: 9187\n", "s.yaml");
  REQUIRE_FALSE(unknown.ok());
}
