#include "relay/smtp/data_reader.h"

#include <catch2/catch.hpp>

using sealpost::smtp::DataReader;
using Problem = DataReader::Problem;

namespace {

struct Run {
  std::string out;
  std::size_t used = 0;
  DataReader r{1000000};
};

Run run(std::string_view in, std::uint64_t max = 1000000) {
  Run x;
  x.r = DataReader(max);
  x.used = x.r.consume(in, x.out);
  return x;
}

}  // namespace

TEST_CASE("end of data is exactly CRLF.CRLF and consumption stops there") {
  auto x = run("a\r\n.\r\nNEXT");
  CHECK(x.r.done());
  CHECK(x.used == 6);
  CHECK(x.out == "a\r\n");
  CHECK(x.r.problem() == Problem::None);

  auto empty = run(".\r\n");  // empty message right after DATA
  CHECK(empty.r.done());
  CHECK(empty.out.empty());
}

TEST_CASE("dot-stuffing is undone") {
  auto x = run("..a\r\n.b\r\n..\r\n.\r\n");
  CHECK(x.r.done());
  CHECK(x.out == ".a\r\nb\r\n.\r\n");
}

TEST_CASE("bare line ends are flagged and never end the data") {
  for (std::string_view in : {"a\n.\n", "a\r\n.\n", "a\n.\r\n", "a\r.\r\n", "a\r\n.\rX"}) {
    INFO(in);
    auto x = run(in);
    CHECK(!x.r.done());
    CHECK((x.r.problem() == Problem::BareLf || x.r.problem() == Problem::BareCr));
  }
}

TEST_CASE("line length counts the unstuffed line") {
  CHECK(run(std::string(998, 'a') + "\r\n").r.problem() == Problem::None);
  CHECK(run("." + std::string(998, 'a') + "\r\n").r.problem() == Problem::None);
  CHECK(run(std::string(999, 'a') + "\r\n").r.problem() == Problem::LineTooLong);
}

TEST_CASE("size limit stops storing but reading goes on") {
  auto x = run("0123456789\r\n0123456789\r\n.\r\n", 15);
  CHECK(x.r.done());
  CHECK(x.r.problem() == Problem::TooBig);
  CHECK(x.out.size() <= 15);
}

TEST_CASE("a CR at a chunk boundary pairs with the LF of the next chunk") {
  DataReader r(1000);
  std::string out;
  CHECK(r.consume("abc\r", out) == 4);
  CHECK(r.consume("\n.\r", out) == 3);
  CHECK(!r.done());
  CHECK(r.consume("\nrest", out) == 1);
  CHECK(r.done());
  CHECK(out == "abc\r\n");
  CHECK(r.problem() == Problem::None);
}
