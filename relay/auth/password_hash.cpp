#include "relay/auth/password_hash.h"

#include <argon2.h>
#include <sodium.h>

#include <vector>

#include "common/secure_random.h"

namespace sealpost::auth {

namespace {
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
}  // namespace

Result<std::string> hash_password(std::string_view password, const Argon2Params& p) {
  if (password.empty()) return Error::plain("empty password");
  const std::string salt = random_bytes(kSaltBytes);
  const std::size_t len =
      argon2_encodedlen(p.t_cost, p.m_cost_kib, p.parallelism, kSaltBytes, kHashBytes, Argon2_id);
  std::vector<char> encoded(len + 1, '\0');
  const int rc =
      argon2id_hash_encoded(p.t_cost, p.m_cost_kib, p.parallelism, password.data(), password.size(),
                            salt.data(), salt.size(), kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Error::plain(std::string("argon2: ") + argon2_error_message(rc));
  return std::string(encoded.data());
}

bool verify_password(const std::string& encoded, std::string_view password) {
  if (!looks_like_argon2id(encoded)) return false;
  // argon2id_verify recomputes the hash and compares in constant time.
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

void wipe_secret(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

bool looks_like_argon2id(std::string_view encoded) {
  return encoded.size() < 512 && encoded.rfind("$argon2id$", 0) == 0;
}

}  // namespace sealpost::auth
