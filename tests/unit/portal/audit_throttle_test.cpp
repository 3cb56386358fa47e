// The bound on audit events anyone can cause without a session.
#include "portal/audit_throttle.h"

#include <catch2/catch.hpp>
#include <string>

using sealpost::portal::AuditThrottle;
using namespace std::chrono_literals;

TEST_CASE("a burst is written, the rest counted and summarised when tokens return") {
  AuditThrottle t(3, 10s);
  const auto t0 = AuditThrottle::Clock::time_point{} + 1000s;
  int written = 0;
  for (int i = 0; i < 100; ++i) written += t.admit("192.0.2.7", t0).write ? 1 : 0;
  CHECK(written == 3);
  // Another client has its own bucket.
  CHECK(t.admit("192.0.2.8", t0).write);
  // 10 s later one token is back: the event is written with the 97 before it summarised.
  auto a = t.admit("192.0.2.7", t0 + 10s);
  CHECK(a.write);
  CHECK(a.suppressed == 97);
  CHECK(a.key == "192.0.2.7");
  CHECK_FALSE(t.admit("192.0.2.7", t0 + 10s).write);
  // flush() hands over what is owed and forgets it.
  const auto owed = t.flush(t0 + 11s);
  REQUIRE(owed.size() == 1);
  CHECK(owed[0].key == "192.0.2.7");
  CHECK(owed[0].suppressed == 1);
  CHECK(t.flush(t0 + 12s).empty());
}

TEST_CASE("each kind of event has its own bucket per client") {
  AuditThrottle t(2, 60s);
  const auto t0 = AuditThrottle::Clock::time_point{} + 1000s;
  CHECK(t.admit("192.0.2.7", "pickup.link_invalid", t0).write);
  CHECK(t.admit("192.0.2.7", "pickup.link_invalid", t0).write);
  CHECK_FALSE(t.admit("192.0.2.7", "pickup.link_invalid", t0).write);
  const auto limited = t.admit("192.0.2.7", "pickup.rate_limited", t0);
  CHECK(limited.write);  // the rate limit striking is still recorded
  CHECK(limited.key == "192.0.2.7 pickup.rate_limited");
}

TEST_CASE("an IPv6 /64 is one client") {
  AuditThrottle t(2, 60s);
  const auto t0 = AuditThrottle::Clock::time_point{} + 1000s;
  CHECK(t.admit("2001:db8:1:2::1", t0).write);
  CHECK(t.admit("2001:db8:1:2::ffff", t0).write);
  CHECK_FALSE(t.admit("2001:db8:1:2:aaaa::1", t0).write);
  CHECK(t.admit("2001:db8:1:3::1", t0).write);
}

TEST_CASE("beyond kMaxClients addresses share one bucket, so the table stays bounded") {
  AuditThrottle t(1, 3600s);
  const auto t0 = AuditThrottle::Clock::time_point{} + 1000s;
  std::size_t written = 0;
  const std::size_t n = AuditThrottle::kMaxClients + 500;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string ip = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) +
                           "." + std::to_string(i & 255);
    written += t.admit(ip, t0).write ? 1 : 0;
  }
  // One per address while the table had room, then one for all the others.
  CHECK(written == AuditThrottle::kMaxClients + 1);
  const auto owed = t.flush(t0);
  REQUIRE(owed.size() == 1);
  CHECK(owed[0].key == AuditThrottle::kOverflowKey);
  CHECK(owed[0].suppressed == 499);
}
