#include "imap/autocrypt.h"

#include <openssl/evp.h>

#include <cctype>

#include "keystore/address_match.h"

namespace sealpost::imap {
namespace {

constexpr std::size_t kMaxKeydata = 64u << 10;  // a real key is a few KiB

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string clean;
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c))) clean.push_back(c);
  if (clean.empty() || clean.size() % 4 != 0 || clean.size() > kMaxKeydata * 4 / 3 + 4)
    return std::nullopt;
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (clean.size() >= 1 && clean.back() == '=') --len;
  if (clean.size() >= 2 && clean[clean.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

}  // namespace

std::optional<AutocryptHeader> parse_autocrypt(std::string_view value) {
  AutocryptHeader h;
  bool have_keydata = false;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    std::size_t end = value.find(';', pos);
    if (end == std::string_view::npos) end = value.size();
    std::string_view attr = trim(value.substr(pos, end - pos));
    pos = end + 1;
    if (attr.empty()) continue;
    const auto eq = attr.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string key(trim(attr.substr(0, eq)));
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view val = trim(attr.substr(eq + 1));
    if (key == "addr") {
      h.addr = std::string(val);
    } else if (key == "prefer-encrypt") {
      h.prefer_mutual = val == "mutual";
    } else if (key == "keydata") {
      auto k = base64_decode(val);
      if (!k || k->empty()) return std::nullopt;
      h.keydata = std::move(*k);
      have_keydata = true;
    } else if (key.empty() || key[0] != '_') {
      return std::nullopt;  // an unknown critical attribute
    }
  }
  if (h.addr.empty() || !have_keydata || h.addr.find('@') == std::string::npos) return std::nullopt;
  return h;
}

std::optional<AutocryptHeader> pick_autocrypt(const std::vector<std::string>& values,
                                              std::string_view from) {
  std::optional<AutocryptHeader> found;
  int matches = 0;
  for (const auto& v : values) {
    auto h = parse_autocrypt(v);
    if (!h || !keystore::address_matches(h->addr, from)) continue;
    ++matches;
    found = std::move(h);
  }
  if (matches != 1) return std::nullopt;
  return found;
}

}  // namespace sealpost::imap
