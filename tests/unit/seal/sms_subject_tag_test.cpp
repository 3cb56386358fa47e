#include "seal/sms_subject_tag.h"

#include <catch2/catch.hpp>
#include <string>

using sealpost::seal::take_sms_tag;

TEST_CASE("the [sms:...] subject tag gives the number and always leaves the subject") {
  std::string s = "Ihr Befund [sms:+49 151 1234-5678]";
  auto t = take_sms_tag(s);
  CHECK(t.found);
  CHECK(t.number == "+4915112345678");
  CHECK(s == "Ihr Befund");

  s = "[SMS:+4915112345678] Befund";
  CHECK(take_sms_tag(s).number == "+4915112345678");
  CHECK(s == "Befund");

  s = "Befund [sms:0151 12345678]";  // no country code: refused, still removed
  t = take_sms_tag(s);
  CHECK(t.found);
  CHECK_FALSE(t.number);
  CHECK(s == "Befund");

  s = "A [sms:+491] B [sms:+4915112345678] C";  // the first valid one counts
  CHECK(take_sms_tag(s).number == "+4915112345678");
  CHECK(s == "A B C");

  s = "Befund [sms:+4915112345678";  // unterminated: everything after the tag start goes
  t = take_sms_tag(s);
  CHECK(t.found);
  CHECK_FALSE(t.number);
  CHECK(s == "Befund");

  s = "[[sms:+4915112345678]sms:+49151]";  // removing one tag must not leave another
  CHECK(take_sms_tag(s).number == "+4915112345678");
  CHECK(s.find("sms:") == std::string::npos);

  s = "I[sm[sms:+]s:+]";
  take_sms_tag(s);
  CHECK(s.find("[sms:") == std::string::npos);

  s = "Befund [secure]";
  CHECK_FALSE(take_sms_tag(s).found);
  CHECK(s == "Befund [secure]");
}
