#include "policy/pattern.h"

#include <vector>

namespace sealpost::policy {
namespace {

// Iterative glob match with backtracking to the last star: linear-ish and
// without recursion, so a hostile pattern or address cannot blow the stack.
// `star_stops(c)` says which characters a star may not swallow.
template <class StarStops>
bool glob(std::string_view pat, std::string_view val, StarStops star_stops) {
  std::size_t p = 0, v = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (v < val.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      resume = v;
    } else if (p < pat.size() && pat[p] == val[v]) {
      ++p;
      ++v;
    } else if (star != std::string_view::npos && !star_stops(val[resume])) {
      p = star + 1;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool domain_glob(std::string_view pat, std::string_view domain) {
  if (pat == "*") return true;
  return glob(pat, domain, [](char c) { return c == '.' || c == '@'; });
}

}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

Pattern::Pattern(std::string text, Kind kind) : text_(to_lower(text)), kind_(kind) {
  switch (kind_) {
    case Kind::Address:
      everything_ = text_ == "*" || text_ == "*@*";
      break;
    case Kind::Domain:
    case Kind::Text:
      everything_ = text_ == "*";
      break;
  }
}

bool Pattern::matches(std::string_view value) const {
  if (everything_) return true;
  if (!is_glob()) return value == text_;
  switch (kind_) {
    case Kind::Text:
      return glob(text_, value, [](char) { return false; });
    case Kind::Domain:
      return domain_glob(text_, value);
    case Kind::Address: {
      auto pat_at = text_.rfind('@');
      auto val_at = value.rfind('@');
      if (pat_at == std::string::npos || val_at == std::string_view::npos) return false;
      std::string_view pat(text_);
      return glob(pat.substr(0, pat_at), value.substr(0, val_at),
                  [](char c) { return c == '@'; }) &&
             domain_glob(pat.substr(pat_at + 1), value.substr(val_at + 1));
    }
  }
  return false;
}

}  // namespace sealpost::policy
