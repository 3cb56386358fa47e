#include "audit/audit_settings.h"

#include <catch2/catch.hpp>

using namespace sealpost::audit;

TEST_CASE("audit retention defaults to a year") {
  auto s = parse_audit_settings("state_dir: /x\n", "s.yaml");
  REQUIRE(s.ok());
  REQUIRE(s->retention);
  CHECK(s->retention->count() == 365);
}

TEST_CASE("audit retention is read from the audit section") {
  auto s = parse_audit_settings("audit:\n  retention: 30d\n", "s.yaml");
  REQUIRE(s.ok());
  CHECK(s->retention->count() == 30);
  auto forever = parse_audit_settings("audit: {retention: forever}\n", "s.yaml");
  REQUIRE(forever.ok());
  CHECK_FALSE(forever->retention);
}

TEST_CASE("bad audit settings name file and line") {
  auto unknown = parse_audit_settings("state_dir: /x\naudit:\n  retain: 30d\n", "s.yaml");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().what(), Catch::Contains("s.yaml:3"));
  auto too_short = parse_audit_settings("audit:\n  retention: 1h\n", "s.yaml");
  REQUIRE_FALSE(too_short.ok());
  CHECK_THAT(too_short.error().what(), Catch::Contains("at least 1d"));
}
