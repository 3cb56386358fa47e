#include "relay/smtp/sasl.h"

#include <sodium.h>

namespace sealpost::smtp {

void SecretString::clear() {
  if (!s_.empty()) sodium_memzero(s_.data(), s_.size());
  s_.clear();
}

SecretString& SecretString::operator=(SecretString&& o) noexcept {
  if (this != &o) {
    clear();
    s_ = std::move(o.s_);
    o.clear();
  }
  return *this;
}

std::optional<SecretString> decode_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::size_t bin_len = 0;
  const char* end = nullptr;
  std::string out(text.size() / 4 * 3, '\0');
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &bin_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    sodium_memzero(out.data(), out.size());
    return std::nullopt;
  }
  out.resize(bin_len);
  return SecretString(std::move(out));
}

std::optional<PlainCredentials> parse_plain(std::string_view decoded) {
  const auto nul1 = decoded.find('\0');
  if (nul1 == std::string_view::npos) return std::nullopt;
  const auto nul2 = decoded.find('\0', nul1 + 1);
  if (nul2 == std::string_view::npos) return std::nullopt;
  const std::string_view authzid = decoded.substr(0, nul1);
  const std::string_view authcid = decoded.substr(nul1 + 1, nul2 - nul1 - 1);
  const std::string_view passwd = decoded.substr(nul2 + 1);
  if (authcid.empty() || passwd.empty() || passwd.find('\0') != std::string_view::npos)
    return std::nullopt;
  if (!authzid.empty() && authzid != authcid) return std::nullopt;
  return PlainCredentials{std::string(authcid), SecretString(std::string(passwd))};
}

}  // namespace sealpost::smtp
