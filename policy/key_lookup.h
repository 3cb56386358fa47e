// Where decide() gets KeyAvailability from, as an interface so that policy/
// does not depend on keystore/ and tests can supply fixed answers.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "policy/plan.h"

namespace sealpost::policy {

class KeyAvailabilityLookup {
 public:
  virtual ~KeyAvailabilityLookup() = default;
  // Never throws; a lookup failure reports no keys with the reason in `note`
  // (fail closed: the recipient then falls back to pickup or is deferred).
  virtual KeyAvailability lookup(const std::string& address) = 0;
};

// The lookup backed by the real keystore under config.state_dir. Implemented
// outside policy/ (the keystore wiring in cli/ and relay/), see docs/policy.md.
std::unique_ptr<KeyAvailabilityLookup> make_key_lookup(const Config& config);

}  // namespace sealpost::policy
