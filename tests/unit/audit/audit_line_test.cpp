#include "audit/audit_line.h"

#include <catch2/catch.hpp>

using namespace sealpost::audit;

namespace {
Line sample() {
  return Line{7,
              "2026-11-28T10:00:00.000Z",
              "delivery",
              {{"queue_id", "q1"}, {"recipient", "a@b.example"}, {"reply", "250 2.0.0 \"ok\"\\"}},
              std::string(kGenesisHash),
              {}};
}
}  // namespace

TEST_CASE("a line round-trips through encode and decode") {
  Line in = sample();
  const std::string text = encode_line(in);
  auto out = decode_line(text);
  REQUIRE(out.ok());
  CHECK(out->seq == 7);
  CHECK(out->time == in.time);
  CHECK(out->type == "delivery");
  CHECK(out->fields == in.fields);
  CHECK(out->prev == in.prev);
  CHECK(out->hash == in.hash);
  CHECK(out->hash == sha256_hex(text.substr(0, text.find(",\"hash\":"))));
}

TEST_CASE("an edited line no longer matches its hash") {
  Line in = sample();
  std::string text = encode_line(in);
  text.replace(text.find("a@b.example"), 1, "x");
  auto out = decode_line(text);
  REQUIRE_FALSE(out.ok());
  CHECK_THAT(out.error().what(), Catch::Contains("hash does not match"));
}

TEST_CASE("control characters and broken UTF-8 cannot break the line") {
  Line in = sample();
  in.fields = {{"reply", std::string("550 no\r\nX-Forged: 1\x01") + "\xff" + "\xc3\xa4"}};
  const std::string text = encode_line(in);
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("\\ufffd") != std::string::npos);
  auto out = decode_line(text);
  REQUIRE(out.ok());
  CHECK(out->fields[0].second == "550 no\r\nX-Forged: 1\x01\xef\xbf\xbd\xc3\xa4");
}

TEST_CASE("malformed lines are rejected with a reason") {
  CHECK_FALSE(decode_line("").ok());
  CHECK_FALSE(decode_line("{}").ok());
  CHECK_FALSE(decode_line("not json at all").ok());
  Line in = sample();
  std::string text = encode_line(in);
  CHECK_FALSE(decode_line(text + " ").ok());
  CHECK_FALSE(decode_line(text.substr(0, text.size() - 1)).ok());
  std::string leading_zero = text;
  leading_zero.replace(0, 8, "{\"seq\":07");
  CHECK_FALSE(decode_line(leading_zero).ok());
  CHECK_FALSE(decode_line(std::string(kMaxLineBytes + 1, 'x')).ok());
}
