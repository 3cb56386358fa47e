#include "config/host_port.h"

#include <catch2/catch.hpp>

using namespace sealpost;

TEST_CASE("host:port accepts IPv4, bracketed IPv6 and DNS names") {
  auto a = parse_host_port("127.0.0.1:587");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 587);
  CHECK(a->host_is_ip);
  auto b = parse_host_port("[::1]:25");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->host_is_ip);
  auto c = parse_host_port("mail.provider.example:465");
  REQUIRE(c);
  CHECK(c->host == "mail.provider.example");
  CHECK_FALSE(c->host_is_ip);
}

TEST_CASE("host:port rejects malformed addresses") {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+5",
        "127.0.0.1:5x", "::1:25", "[::1]25", "[::1]:", "[127.0.0.1]:25", "[nothost]:25", ":25",
        "bad_host:25", "-a.example:25", "a..example:25", "[::1:25"}) {
    INFO(bad);
    CHECK_FALSE(parse_host_port(bad));
  }
}

TEST_CASE("DNS names follow the label rules") {
  CHECK(is_dns_name("relay.praxis.example"));
  CHECK(is_dns_name("a-b.example"));
  CHECK_FALSE(is_dns_name("a-.example"));
  CHECK_FALSE(is_dns_name(".example"));
  CHECK_FALSE(is_dns_name(std::string(64, 'a') + ".example"));
  CHECK_FALSE(is_dns_name("under_score.example"));
}
