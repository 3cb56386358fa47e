#include "portal/second_factor.h"

#include <argon2.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "common/secure_random.h"

namespace sealpost::pickup {
namespace {

constexpr std::size_t kMaxPassphraseBytes = 1024;

// Users type codes with spaces or dashes ("1234 5678"); keep only digits, bounded.
std::string normalise_code(std::string_view in, std::size_t max_digits) {
  std::string out;
  for (char c : in.substr(0, 64)) {
    if (c >= '0' && c <= '9') {
      if (out.size() == max_digits) return {};  // too many digits: not our code
      out += c;
    } else if (c != ' ' && c != '-') {
      return {};
    }
  }
  return out;
}

}  // namespace

Result<std::string> SecondFactor::issue_code(const PickupRecord& r, const SecretBytes& secret,
                                             std::int64_t now) {
  if (sodium_init() < 0) return Error::plain("libsodium unavailable");
  std::string code;
  for (int i = 0; i < s_.code_digits; ++i)
    code += static_cast<char>('0' + randombytes_uniform(10));  // uniform, no modulo bias
  PendingCode pending{keyed_hash(derive_code_key(secret, r.id), code), now + s_.code_ttl.count()};
  if (auto p = index_.put_code(r.id, pending); !p) return p.error();
  return code;
}

Result<Check> SecondFactor::count_failure(const PickupRecord& r) {
  auto n = index_.add_failure(r.id);
  if (!n) return n.error();
  if (*n >= s_.max_attempts) {
    if (auto d = index_.delete_code(r.id); !d) return d.error();
    if (auto st = index_.set_state(r.id, State::Locked); !st) return st.error();
    return Check{Verdict::Locked, 0};
  }
  return Check{Verdict::Wrong, s_.max_attempts - *n};
}

Result<Check> SecondFactor::verify_code(const PickupRecord& r, const SecretBytes& secret,
                                        std::string_view code, std::int64_t now) {
  if (r.state == State::Locked || r.attempts >= s_.max_attempts) return Check{Verdict::Locked, 0};
  auto pending = index_.find_code(r.id);
  if (!pending) return pending.error();
  if (!*pending || (**pending).expires <= now) {
    if (*pending) (void)index_.delete_code(r.id);
    return Check{Verdict::Expired, s_.max_attempts - r.attempts};
  }
  const std::string digits = normalise_code(code, static_cast<std::size_t>(s_.code_digits));
  // Hash even malformed input so timing does not tell "malformed" from "wrong".
  const std::string candidate = keyed_hash(derive_code_key(secret, r.id), digits);
  if (digits.size() == static_cast<std::size_t>(s_.code_digits) &&
      constant_time_equal(candidate, (**pending).hash)) {
    if (auto d = index_.delete_code(r.id); !d) return d.error();  // single use
    return Check{Verdict::Ok, s_.max_attempts - r.attempts};
  }
  return count_failure(r);
}

Result<Check> SecondFactor::verify_passphrase(const PickupRecord& r,
                                              const std::string& encoded_hash,
                                              std::string_view passphrase) {
  if (r.state == State::Locked || r.attempts >= s_.max_attempts) return Check{Verdict::Locked, 0};
  if (encoded_hash.rfind("$argon2id$", 0) != 0) return Error::plain("pickup: no passphrase hash");
  if (!passphrase.empty() && passphrase.size() <= kMaxPassphraseBytes &&
      argon2id_verify(encoded_hash.c_str(), passphrase.data(), passphrase.size()) == ARGON2_OK)
    return Check{Verdict::Ok, s_.max_attempts - r.attempts};
  return count_failure(r);
}

bool valid_phone_number(std::string_view n) {
  if (!n.empty() && n[0] == '+') n.remove_prefix(1);
  if (n.size() < 6 || n.size() > 20) return false;
  for (char c : n)
    if (c < '0' || c > '9') return false;
  return true;
}

Result<std::string> hash_passphrase(std::string_view passphrase) {
  if (passphrase.empty() || passphrase.size() > kMaxPassphraseBytes)
    return Error::plain("passphrase length out of range");
  const std::string salt = random_bytes(16);
  constexpr uint32_t t = 3, m = 64 * 1024, p = 1, len = 32;
  std::string out(argon2_encodedlen(t, m, p, salt.size(), len, Argon2_id), '\0');
  if (argon2id_hash_encoded(t, m, p, passphrase.data(), passphrase.size(), salt.data(), salt.size(),
                            len, out.data(), out.size()) != ARGON2_OK)
    return Error::plain("argon2id hashing failed");
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace sealpost::pickup
