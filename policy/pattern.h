// Exact-or-glob patterns for policy matches, compared case-insensitively.
// The only wildcard is `*`, and how far it reaches depends on where it sits,
// so that a rule cannot be widened to domains nobody meant:
//   - in a local part (before '@') it matches any run of characters except '@';
//   - in a domain it matches within one label (no '.'), so "*.praxis.example"
//     matches "a.praxis.example" but not "a.b.praxis.example", and
//     "labor-*.example" does not match "labor-x.evil.example"; a domain that
//     is exactly "*" matches every domain;
//   - in free text (header values, user names) it matches anything.
#pragma once

#include <string>
#include <string_view>

namespace sealpost::policy {

class Pattern {
 public:
  enum class Kind { Address, Domain, Text };

  Pattern() = default;
  Pattern(std::string text, Kind kind);

  // `value` must already be lower-case (see to_lower); patterns are stored lower-case.
  bool matches(std::string_view value) const;
  // True for patterns that match every value of their kind ("*", "*@*").
  bool matches_everything() const { return everything_; }
  bool is_glob() const { return text_.find('*') != std::string::npos; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;  // lower-case
  Kind kind_ = Kind::Text;
  bool everything_ = false;
};

std::string to_lower(std::string_view s);  // ASCII only; UTF-8 bytes pass unchanged
// The part after the last '@', or "" when there is none.
std::string_view domain_of(std::string_view address);

}  // namespace sealpost::policy
