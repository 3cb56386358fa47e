#include "keystore/address_match.h"

#include <algorithm>
#include <cctype>

namespace sealpost::keystore {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

}  // namespace

bool address_matches(std::string_view candidate, std::string_view wanted) {
  const auto c_at = candidate.rfind('@');
  const auto w_at = wanted.rfind('@');
  if (c_at == std::string_view::npos || w_at == std::string_view::npos) return false;
  if (c_at == 0 || w_at == 0) return false;
  return candidate.substr(0, c_at) == wanted.substr(0, w_at) &&
         iequal(candidate.substr(c_at + 1), wanted.substr(w_at + 1));
}

std::string normalise_address(std::string_view address) {
  std::string out(address);
  const auto at = out.rfind('@');
  if (at == std::string::npos) return out;
  std::transform(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(),
                 out.begin() + static_cast<std::ptrdiff_t>(at),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

std::string address_from_uid(std::string_view uid) {
  const auto open = uid.rfind('<');
  const auto close = uid.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open)
    return std::string(uid.substr(open + 1, close - open - 1));
  if (uid.find('@') != std::string_view::npos && uid.find(' ') == std::string_view::npos)
    return std::string(uid);
  return {};
}

}  // namespace sealpost::keystore
