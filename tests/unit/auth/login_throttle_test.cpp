#include "relay/auth/login_throttle.h"

#include <catch2/catch.hpp>

using sealpost::auth::LoginThrottle;
using namespace std::chrono_literals;

TEST_CASE("failed logins are counted per client across connections and age out") {
  LoginThrottle t(3, 15min);
  const auto t0 = LoginThrottle::Clock::time_point{} + 1h;
  CHECK(t.may_try("192.0.2.7", t0));
  for (int i = 0; i < 3; ++i) t.failed("192.0.2.7", t0 + i * 1s);
  CHECK_FALSE(t.may_try("192.0.2.7", t0 + 10s));
  CHECK(t.may_try("192.0.2.8", t0 + 10s));  // another client is not affected
  CHECK_FALSE(t.may_try("192.0.2.7", t0 + 15min - 1s));
  CHECK(t.may_try("192.0.2.7", t0 + 15min));  // the oldest failure aged out
  t.failed("192.0.2.7", t0 + 15min);
  CHECK_FALSE(t.may_try("192.0.2.7", t0 + 15min));  // three within the window again
}

TEST_CASE("IPv6 clients count per /64; mapped IPv4 counts as IPv4") {
  CHECK(sealpost::client_key("2001:db8:1:2::5") == "2001:db8:1:2::/64");
  CHECK(sealpost::client_key("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64");
  CHECK(sealpost::client_key("::ffff:192.0.2.1") == "192.0.2.1");
  CHECK(sealpost::client_key("192.0.2.1") == "192.0.2.1");
  LoginThrottle t(2, 15min);
  const auto now = LoginThrottle::Clock::time_point{} + 1h;
  t.failed("2001:db8:1:2::1", now);
  t.failed("2001:db8:1:2::2", now);
  CHECK_FALSE(t.may_try("2001:db8:1:2::3", now));
  CHECK(t.may_try("2001:db8:1:3::1", now));
}

TEST_CASE("memory stays bounded under an address flood") {
  LoginThrottle t(2, 15min, 100);
  const auto now = LoginThrottle::Clock::time_point{} + 1h;
  for (int i = 0; i < 1000; ++i)
    t.failed("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), now + i * 1ms);
  t.failed("198.51.100.1", now + 2s);
  t.failed("198.51.100.1", now + 2s);
  CHECK_FALSE(t.may_try("198.51.100.1", now + 3s));  // the newest entries are kept
}
