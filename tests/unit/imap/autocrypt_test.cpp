#include "imap/autocrypt.h"

#include <catch2/catch.hpp>

using namespace sealpost::imap;

TEST_CASE("autocrypt: addr and keydata parsed, whitespace in keydata ignored") {
  auto h = parse_autocrypt("addr=pat@example.org; prefer-encrypt=mutual; keydata=QUJD\r\n REVG");
  REQUIRE(h);
  CHECK(h->addr == "pat@example.org");
  CHECK(h->keydata == "ABCDEF");
  CHECK(h->prefer_mutual);
}

TEST_CASE("autocrypt: padding is not part of the key") {
  auto h = parse_autocrypt("addr=a@b.example; keydata=QUI=");
  REQUIRE(h);
  CHECK(h->keydata == "AB");
}

TEST_CASE("autocrypt: invalid headers are none") {
  CHECK_FALSE(parse_autocrypt("keydata=QUJD"));                         // no addr
  CHECK_FALSE(parse_autocrypt("addr=a@b.example"));                     // no key
  CHECK_FALSE(parse_autocrypt("addr=a@b.example; keydata=!!!!"));       // not base64
  CHECK_FALSE(parse_autocrypt("addr=a@b.example; keydata=QUJD; x=1"));  // unknown critical
  CHECK(parse_autocrypt("addr=a@b.example; keydata=QUJD; _x=1"));       // non-critical is fine
  CHECK_FALSE(parse_autocrypt("addr=a@b.example; keydata"));            // no '='
}

TEST_CASE("autocrypt: only the From address, and only when unambiguous") {
  const std::string mine = "addr=pat@example.org; keydata=QUJD";
  const std::string other = "addr=mallory@evil.example; keydata=REVG";
  CHECK(pick_autocrypt({mine}, "pat@example.org"));
  CHECK_FALSE(pick_autocrypt({other}, "pat@example.org"));
  auto picked = pick_autocrypt({other, mine}, "pat@example.org");
  REQUIRE(picked);
  CHECK(picked->keydata == "ABC");
  CHECK_FALSE(pick_autocrypt({mine, mine}, "pat@example.org"));
  CHECK(pick_autocrypt({mine}, "pat@EXAMPLE.org"));  // domains compare case-insensitively
}
