// SASL pieces for AUTH PLAIN (RFC 4616) and AUTH LOGIN: strict base64 and
// the PLAIN message split. Decoded secrets live in SecretString, which wipes
// its memory when it goes away.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sealpost::smtp {

// A std::string that is zeroed before its memory is released.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string s) : s_(std::move(s)) {}
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  SecretString(SecretString&& o) noexcept : s_(std::move(o.s_)) { o.clear(); }
  SecretString& operator=(SecretString&& o) noexcept;
  ~SecretString() { clear(); }

  std::string_view view() const { return s_; }
  bool empty() const { return s_.empty(); }
  void clear();

 private:
  std::string s_;
};

// Strict RFC 4648 base64 (padding required, no whitespace); nullopt if malformed.
std::optional<SecretString> decode_base64(std::string_view text);

struct PlainCredentials {
  std::string user;
  SecretString password;
};

// "authzid NUL authcid NUL passwd". An authzid other than empty or the
// authcid would mean acting for someone else, which we do not offer.
std::optional<PlainCredentials> parse_plain(std::string_view decoded);

}  // namespace sealpost::smtp
