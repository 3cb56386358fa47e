#include "policy/subject_tag.h"

#include <catch2/catch.hpp>

using namespace sealpost::policy;

TEST_CASE("subject tags are found case-insensitively and removed with their blanks") {
  CHECK(remove_subject_tag("[secure] Befund", "[SECURE]") == std::optional<std::string>("Befund"));
  CHECK(remove_subject_tag("Befund [Secure]", "[secure]") == std::optional<std::string>("Befund"));
  CHECK(remove_subject_tag("Befund  [secure]  Meier", "[secure]") ==
        std::optional<std::string>("Befund Meier"));
  CHECK(remove_subject_tag("[secure]", "[secure]") == std::optional<std::string>(""));
  CHECK_FALSE(remove_subject_tag("Befund [secur]", "[secure]"));
  CHECK_FALSE(remove_subject_tag("", "[secure]"));
  CHECK(find_subject_tag("abc", "") == std::string_view::npos);
}
