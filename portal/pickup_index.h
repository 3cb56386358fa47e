// The pickup index: one row per deposited pickup. An interface so a shared
// PostgreSQL can serve several nodes later; SqlitePickupIndex is the default.
// Rows hold routing metadata only (addresses, times, state); the wrapped key
// and the verifier are opaque bytes useless without the link secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace sealpost::pickup {

enum class State { Active, Locked, Revoked, Expired };
const char* to_string(State s);
std::optional<State> state_from_string(std::string_view s);

struct PickupRecord {
  std::string id;
  std::string recipient;
  std::string sender;
  std::int64_t created = 0;  // unix seconds
  std::int64_t expires = 0;
  std::string auth_method;  // sms | passphrase | code-to-sender
  int attempts = 0;         // failed second-factor attempts
  State state = State::Active;
  std::int64_t picked_up = 0;  // first successful authentication, 0 = never
  std::string verifier;        // derive_verifier(secret, id)
  std::string wrapped_key;     // seal(kek, key material); empty once shredded
};

// A pending one-time code: keyed hash only, single use, expiring.
struct PendingCode {
  std::string hash;
  std::int64_t expires = 0;
};

// A patient's portal password (portal.portal_passwords): argon2id, per
// recipient address, usable for any of their pickups instead of the code.
struct PortalPassword {
  std::string hash;
  int failures = 0;  // wrong passwords in a row
  std::int64_t set_at = 0;
};

struct AttemptSlot {
  bool granted = false;
  int attempts = 0;  // the count after this call
  bool newly_locked = false;
};

class PickupIndex {
 public:
  virtual ~PickupIndex() = default;
  virtual Result<void> insert(const PickupRecord& r) = 0;
  virtual Result<std::optional<PickupRecord>> find(const std::string& id) = 0;
  virtual Result<std::vector<PickupRecord>> list() = 0;
  virtual Result<void> set_state(const std::string& id, State s) = 0;
  // Check-and-count in one transaction, before the answer is checked, so
  // parallel guesses can never evaluate more than `max_attempts` answers:
  // an active pickup below the limit gets its count raised and the attempt
  // granted; one at or over it (also after max_attempts was lowered) is set
  // Locked, and `newly_locked` says whether this call did that.
  virtual Result<AttemptSlot> begin_attempt(const std::string& id, int max_attempts) = 0;
  // A granted attempt that succeeded is no failure: its count is given back.
  virtual Result<void> refund_attempt(const std::string& id) = 0;
  // Sets an active pickup Locked and drops its pending code; true if this
  // call locked it (so the sender is told once, not on every attempt).
  virtual Result<bool> lock(const std::string& id) = 0;
  // Records the first successful authentication; true if this was it.
  virtual Result<bool> mark_picked_up(const std::string& id, std::int64_t when) = 0;
  // Forgets the wrapped key and any pending code (crypto-shredding), also
  // from the store's logs and journals before it returns. The verifier stays
  // so a real link holder learns "expired", a guesser does not.
  virtual Result<void> shred(const std::string& id, State final_state) = 0;
  virtual Result<std::vector<std::string>> expired_ids(std::int64_t now) = 0;
  // Deletes the rows of shredded pickups that expired before `expired_before`
  // (index retention), and portal passwords of recipients left without any
  // row; returns how many pickup rows.
  virtual Result<int> forget_shredded(std::int64_t expired_before) = 0;
  // Portal passwords, keyed by the lower-cased recipient address.
  virtual Result<std::optional<PortalPassword>> find_password(const std::string& recipient) = 0;
  virtual Result<void> set_password(const std::string& recipient, const std::string& hash,
                                    std::int64_t now) = 0;
  // Like begin_attempt, per recipient: counts a password attempt before it is
  // checked; at `max_failures` failures in a row the password is deleted
  // (not granted, `newly_locked` set) and the patient is back to the code.
  virtual Result<AttemptSlot> begin_password_attempt(const std::string& recipient,
                                                     int max_failures) = 0;
  virtual Result<void> reset_password_failures(const std::string& recipient) = 0;
  virtual Result<void> delete_password(const std::string& recipient) = 0;
  virtual Result<void> put_code(const std::string& id, const PendingCode& code) = 0;
  virtual Result<std::optional<PendingCode>> find_code(const std::string& id) = 0;
  // Codes are single use: deleted after a success or when a new one is issued.
  virtual Result<void> delete_code(const std::string& id) = 0;
  // Deletes the pending code only if it still has `hash`; true if this call
  // did, so of two parallel right answers only one succeeds.
  virtual Result<bool> consume_code(const std::string& id, const std::string& hash) = 0;
};

}  // namespace sealpost::pickup
