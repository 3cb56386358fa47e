#include "policy/pattern.h"

#include <catch2/catch.hpp>

using sealpost::policy::Pattern;

TEST_CASE("patterns match exactly or by glob, case-insensitively") {
  struct Case {
    const char* pattern;
    Pattern::Kind kind;
    const char* value;  // lower-case, as decide() passes it
    bool expected;
  };
  const Case cases[] = {
      {"Dr@Praxis.example", Pattern::Kind::Address, "dr@praxis.example", true},
      {"dr@praxis.example", Pattern::Kind::Address, "dr@praxis.example.evil", false},
      {"*@labor-*.example", Pattern::Kind::Address, "befund@labor-nord.example", true},
      {"*@labor-*.example", Pattern::Kind::Address, "a.b@labor-x.example", true},
      // A domain star stays inside one label.
      {"*@labor-*.example", Pattern::Kind::Address, "x@labor-a.evil.example", false},
      {"*@labor-*.example", Pattern::Kind::Address, "x@labor-.example", true},
      {"*@labor-*.example", Pattern::Kind::Address, "labor-x.example", false},
      {"*", Pattern::Kind::Address, "anyone@anywhere.example", true},
      {"*@*", Pattern::Kind::Address, "a@b.c", true},
      {"praxis.example", Pattern::Kind::Domain, "praxis.example", true},
      {"praxis.example", Pattern::Kind::Domain, "sub.praxis.example", false},
      {"*.praxis.example", Pattern::Kind::Domain, "sub.praxis.example", true},
      {"*.praxis.example", Pattern::Kind::Domain, "a.b.praxis.example", false},
      {"*", Pattern::Kind::Domain, "a.b.c", true},
      {"*", Pattern::Kind::Domain, "", true},
      {"priv*", Pattern::Kind::Text, "private", true},
      {"priv*", Pattern::Kind::Text, "public", false},
      {"*a*b*c*", Pattern::Kind::Text, "xxaxxbxxcxx", true},
      {"*a*b*c", Pattern::Kind::Text, "xxaxxbxxcxx", false},
  };
  for (const auto& c : cases) {
    INFO(c.pattern << " vs " << c.value);
    CHECK(Pattern(c.pattern, c.kind).matches(c.value) == c.expected);
  }
}

TEST_CASE("pathological globs finish quickly") {
  std::string value(5000, 'a');
  Pattern p(std::string(50, '*') + "b", Pattern::Kind::Text);
  CHECK_FALSE(p.matches(value));
}
