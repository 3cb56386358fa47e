#include "common/line_scan.h"

#include <catch2/catch.hpp>
#include <string>

using sealpost::find_cr_or_lf;

TEST_CASE("find_cr_or_lf finds the first line end of either kind") {
  const std::string s = "abc\r\ndef";
  CHECK(find_cr_or_lf(s.data(), s.size()) == 3);
  CHECK(find_cr_or_lf("ab\ncd\r", 6) == 2);
  CHECK(find_cr_or_lf("abcd", 4) == 4);
  CHECK(find_cr_or_lf("", 0) == 0);
}

TEST_CASE("find_cr_or_lf looks past its search window") {
  for (std::size_t at : {0u, 1023u, 1024u, 1025u, 5000u}) {
    std::string s(6000, 'x');
    s[at] = '\n';
    CHECK(find_cr_or_lf(s.data(), s.size()) == at);
    s[at] = '\r';
    CHECK(find_cr_or_lf(s.data(), s.size()) == at);
    if (at > 0) {
      s[at - 1] = '\n';  // LF before CR
      CHECK(find_cr_or_lf(s.data(), s.size()) == at - 1);
    }
  }
  const std::string none(3000, 'y');
  CHECK(find_cr_or_lf(none.data(), none.size()) == 3000);
}
