#include "portal/second_factor.h"

#include <sodium.h>

#include <algorithm>

#include "common/secure_random.h"
#include "relay/auth/password_hash.h"

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

Result<std::optional<Check>> SecondFactor::exhausted(const PickupRecord& r) {
  if (r.state == State::Locked) return std::optional<Check>(Check{Verdict::Locked, 0, false});
  if (r.attempts < s_.max_attempts) return std::optional<Check>();
  auto locked = index_.lock(r.id);
  if (!locked) return locked.error();
  return std::optional<Check>(Check{Verdict::Locked, 0, *locked});
}

Result<Check> SecondFactor::failed(const PickupRecord& r, int attempts) {
  if (attempts >= s_.max_attempts) {
    auto locked = index_.lock(r.id);
    if (!locked) return locked.error();
    return Check{Verdict::Locked, 0, *locked};
  }
  return Check{Verdict::Wrong, s_.max_attempts - attempts, false};
}

Result<Check> SecondFactor::verify_code(const PickupRecord& r, const SecretBytes& secret,
                                        std::string_view code, std::int64_t now) {
  auto spent = exhausted(r);
  if (!spent) return spent.error();
  if (*spent) return **spent;
  auto pending = index_.find_code(r.id);
  if (!pending) return pending.error();
  if (!*pending || (**pending).expires <= now) {
    if (*pending) (void)index_.delete_code(r.id);
    return Check{Verdict::Expired, s_.max_attempts - r.attempts, false};  // not counted
  }
  auto slot = index_.begin_attempt(r.id, s_.max_attempts);
  if (!slot) return slot.error();
  if (!slot->granted) return Check{Verdict::Locked, 0, slot->newly_locked};
  const std::string digits = normalise_code(code, static_cast<std::size_t>(s_.code_digits));
  // Hash even malformed input so timing does not tell "malformed" from "wrong".
  const std::string candidate = keyed_hash(derive_code_key(secret, r.id), digits);
  if (digits.size() == static_cast<std::size_t>(s_.code_digits) &&
      constant_time_equal(candidate, (**pending).hash)) {
    auto consumed = index_.consume_code(r.id, (**pending).hash);  // single use
    if (!consumed) return consumed.error();
    if (*consumed) {
      if (auto g = index_.refund_attempt(r.id); !g) return g.error();
      return Check{Verdict::Ok, s_.max_attempts - slot->attempts + 1, false};
    }
    // A parallel request used it first; this one counts like a wrong answer.
  }
  return failed(r, slot->attempts);
}

Result<Check> SecondFactor::verify_passphrase(const PickupRecord& r,
                                              const std::string& encoded_hash,
                                              std::string_view passphrase) {
  if (encoded_hash.rfind("$argon2id$", 0) != 0) return Error::plain("pickup: no passphrase hash");
  auto spent = exhausted(r);
  if (!spent) return spent.error();
  if (*spent) return **spent;
  auto slot = index_.begin_attempt(r.id, s_.max_attempts);
  if (!slot) return slot.error();
  if (!slot->granted) return Check{Verdict::Locked, 0, slot->newly_locked};
  if (!passphrase.empty() && passphrase.size() <= kMaxPassphraseBytes &&
      auth::verify_password(encoded_hash, passphrase)) {
    if (auto g = index_.refund_attempt(r.id); !g) return g.error();
    return Check{Verdict::Ok, s_.max_attempts - slot->attempts + 1, false};
  }
  return failed(r, slot->attempts);
}

Result<bool> SecondFactor::has_portal_password(const std::string& recipient) {
  auto pw = index_.find_password(password_key(recipient));
  if (!pw) return pw.error();
  return pw->has_value();
}

Result<void> SecondFactor::set_portal_password(const std::string& recipient,
                                               std::string_view password, std::int64_t now) {
  if (password.size() < kMinPortalPassword || password.size() > kMaxPassphraseBytes)
    return Error::plain("portal password length out of range");
  auto hash = hash_passphrase(password);
  if (!hash) return hash.error();
  return index_.set_password(password_key(recipient), *hash, now);
}

Result<Check> SecondFactor::verify_portal_password(const PickupRecord& r, std::string_view password,
                                                   bool& password_deleted) {
  password_deleted = false;
  auto spent = exhausted(r);
  if (!spent) return spent.error();
  if (*spent) return **spent;
  const std::string key = password_key(r.recipient);
  if (auto exists = index_.find_password(key); !exists)
    return exists.error();
  else if (!*exists)
    return Check{Verdict::NoPassword, s_.max_attempts - r.attempts, false};
  auto slot = index_.begin_attempt(r.id, s_.max_attempts);
  if (!slot) return slot.error();
  if (!slot->granted) return Check{Verdict::Locked, 0, slot->newly_locked};
  auto pw_slot = index_.begin_password_attempt(key, s_.max_attempts);
  if (!pw_slot) return pw_slot.error();
  password_deleted = pw_slot->newly_locked;
  auto pw = pw_slot->granted
                ? index_.find_password(key)
                : Result<std::optional<PortalPassword>>(std::optional<PortalPassword>());
  if (!pw) return pw.error();
  if (*pw && !password.empty() && password.size() <= kMaxPassphraseBytes &&
      auth::verify_password((**pw).hash, password)) {
    if (auto g = index_.refund_attempt(r.id); !g) return g.error();
    if (auto g = index_.reset_password_failures(key); !g) return g.error();
    return Check{Verdict::Ok, s_.max_attempts - slot->attempts + 1, false};
  }
  // The failure that reaches the limit ends the password at once, not one later.
  if (pw_slot->granted && pw_slot->attempts >= s_.max_attempts) {
    if (auto d = index_.delete_password(key); !d) return d.error();
    password_deleted = true;
  }
  return failed(r, slot->attempts);
}

std::string password_key(std::string_view recipient) {
  std::string out(recipient);
  for (char& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
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
  return auth::hash_password(passphrase);  // the staff passwords' Argon2id, one implementation
}

}  // namespace sealpost::pickup
