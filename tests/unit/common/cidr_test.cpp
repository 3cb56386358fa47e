#include "common/cidr.h"

#include <catch2/catch.hpp>

using namespace sealpost;

TEST_CASE("CIDR matching for v4, v6 and v4-mapped v6") {
  auto lo = Cidr::parse("127.0.0.0/8");
  REQUIRE(lo);
  CHECK(lo->contains(*IpAddress::parse("127.1.2.3")));
  CHECK(lo->contains(*IpAddress::parse("::ffff:127.0.0.1")));
  CHECK_FALSE(lo->contains(*IpAddress::parse("10.0.0.1")));
  auto v6 = Cidr::parse("::1/128");
  REQUIRE(v6);
  CHECK(v6->contains(*IpAddress::parse("::1")));
  CHECK_FALSE(v6->contains(*IpAddress::parse("127.0.0.1")));
  auto odd = Cidr::parse("192.168.0.0/23");
  REQUIRE(odd);
  CHECK(odd->contains(*IpAddress::parse("192.168.1.200")));
  CHECK_FALSE(odd->contains(*IpAddress::parse("192.168.2.1")));
  CHECK_FALSE(Cidr::parse("10.0.0.0/33"));
  CHECK_FALSE(Cidr::parse("not-an-ip/8"));
}
