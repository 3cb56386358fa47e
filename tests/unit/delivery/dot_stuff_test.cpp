#include "relay/delivery/dot_stuff.h"

#include <catch2/catch.hpp>
#include <string>

using sealpost::delivery::write_dot_stuffed;

namespace {

std::string stuffed(std::string_view in) {
  std::string out;
  REQUIRE(write_dot_stuffed(in, [&](std::string_view p) {
    out += p;
    return true;
  }));
  return out;
}

}  // namespace

TEST_CASE("dot stuffing doubles a leading dot and ends with the end-of-data mark") {
  CHECK(stuffed("a\r\nb\r\n") == "a\r\nb\r\n.\r\n");
  CHECK(stuffed(".\r\n..x\r\n") == "..\r\n...x\r\n.\r\n");
  CHECK(stuffed("x\r\n.\r\ny") == "x\r\n..\r\ny\r\n.\r\n");
  CHECK(stuffed("no line end") == "no line end\r\n.\r\n");
  CHECK(stuffed("") == ".\r\n");
  CHECK(stuffed(".") == "..\r\n.\r\n");
}

TEST_CASE("dot stuffing turns bare LF into CRLF and keeps a dot inside a line") {
  CHECK(stuffed("a\nb.c\n.d\n") == "a\r\nb.c\r\n..d\r\n.\r\n");
  CHECK(stuffed("\n\n") == "\r\n\r\n.\r\n");
  CHECK(stuffed("a\r\r\nb\r\n") == "a\r\r\nb\r\n.\r\n");
}

TEST_CASE("dot stuffing stops at the first failed write") {
  int calls = 0;
  CHECK_FALSE(write_dot_stuffed("a\r\nb\r\nc\r\n", [&](std::string_view) { return ++calls < 2; }));
  CHECK(calls == 2);
}

TEST_CASE("no CRLF.CRLF can appear inside the stuffed body") {
  std::string in;
  for (int i = 0; i < 200; ++i) in += (i % 3 == 0 ? ".\r\n" : i % 3 == 1 ? ".\n" : "x.\r\n");
  const std::string out = stuffed(in);
  CHECK(out.find("\r\n.\r\n") == out.size() - 5);
}

TEST_CASE("a message fed in pieces is stuffed exactly like in one piece") {
  const std::string in = ".a\r\nb\nc.\r\n..\r\n\r\n.x\ny\r\nlast";
  const std::string whole = stuffed(in);
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    for (std::size_t cut2 = cut; cut2 <= in.size(); cut2 += 3) {
      sealpost::delivery::DotStuffer s;
      std::string out;
      auto sink = [&](std::string_view p) {
        out += p;
        return true;
      };
      REQUIRE(s.feed(std::string_view(in).substr(0, cut), sink));
      REQUIRE(s.feed(std::string_view(in).substr(cut, cut2 - cut), sink));
      REQUIRE(s.feed(std::string_view(in).substr(cut2), sink));
      REQUIRE(s.finish(sink));
      INFO("cuts at " << cut << ", " << cut2);
      CHECK(out == whole);
    }
  }
}
