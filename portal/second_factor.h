// The second factor of a pickup: one-time codes (sms, code-to-sender) and
// passphrases (argon2id). Codes are single use and expire; every attempt is
// counted against the pickup before its answer is checked (parallel guesses
// cannot exceed max_attempts; a success gives its count back), and at
// max_attempts the pickup locks (the caller tells the sender, once).
// Comparisons are constant time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "portal/pickup_crypto.h"
#include "portal/pickup_index.h"

namespace sealpost::pickup {

struct FactorSettings {
  int max_attempts = 5;
  std::chrono::seconds code_ttl{600};
  int code_digits = 8;
};

enum class Verdict {
  Ok,
  Wrong,    // counted; attempts_left says how many remain
  Expired,  // no pending code, or it timed out: ask for a new one (not counted)
  Locked,   // this attempt used the last try, or the pickup was already locked
  // A portal password was offered but the address has none (a stale form, a
  // password deleted meanwhile): nothing to guess, so nothing is counted.
  NoPassword,
};

struct Check {
  Verdict verdict = Verdict::Wrong;
  int attempts_left = 0;
  bool newly_locked = false;  // this check locked the pickup: tell the sender (once)
};

class SecondFactor {
 public:
  SecondFactor(PickupIndex& index, FactorSettings settings) : index_(index), s_(settings) {}

  // Replaces any pending code with a fresh one and returns it for delivery.
  Result<std::string> issue_code(const PickupRecord& r, const SecretBytes& secret,
                                 std::int64_t now);
  Result<Check> verify_code(const PickupRecord& r, const SecretBytes& secret, std::string_view code,
                            std::int64_t now);
  Result<Check> verify_passphrase(const PickupRecord& r, const std::string& encoded_hash,
                                  std::string_view passphrase);
  // Portal passwords (portal.portal_passwords): set by a patient who passed
  // the pickup's own second factor, accepted instead of it later for any
  // pickup to the same address. A password answer is counted like a code
  // against the pickup and, in a row, against the password, which is
  // deleted at max_attempts (`newly_locked` then says so for the password).
  Result<bool> has_portal_password(const std::string& recipient);
  Result<void> set_portal_password(const std::string& recipient, std::string_view password,
                                   std::int64_t now);
  Result<Check> verify_portal_password(const PickupRecord& r, std::string_view password,
                                       bool& password_deleted);
  // Locks a pickup whose failures already reach max_attempts (e.g. after the
  // limit was lowered) before anything else is done for it. nullopt: usable.
  Result<std::optional<Check>> exhausted(const PickupRecord& r);
  const FactorSettings& settings() const { return s_; }

 private:
  // After a granted attempt failed: Wrong, or Locked at the limit.
  Result<Check> failed(const PickupRecord& r, int attempts);
  PickupIndex& index_;
  FactorSettings s_;
};

// "+" and 6..20 digits: what an SMS number may look like before it reaches argv.
bool valid_phone_number(std::string_view number);

// Portal passwords: at least this many characters (bytes of UTF-8), at most 1024.
inline constexpr std::size_t kMinPortalPassword = 10;

// The key portal passwords are stored under: the address, ASCII lower-cased.
std::string password_key(std::string_view recipient);

// argon2id encoded hash via relay/auth/password_hash (consent passphrases, portal
// passwords, tools and tests), with the portal's length bound.
Result<std::string> hash_passphrase(std::string_view passphrase);

}  // namespace sealpost::pickup
