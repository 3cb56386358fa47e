// The policy the daemon is using right now, swappable on SIGHUP, and the
// decider function that seal/ calls per message (consent lookup + decide()).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "policy/consent_store.h"
#include "policy/decide.h"

namespace sealpost::policy {

class LivePolicy {
 public:
  // `pickup_available`: whether pickups can be made at all (a portal is
  // configured); it belongs to the same reload as the policy.
  explicit LivePolicy(Policy initial, bool pickup_available = false);
  // Loads `path`; only a policy that loads completely replaces the current
  // one. On error the old policy stays and the error (FILE:LINE) is returned.
  Result<void> reload(const std::string& path);
  // Swaps in an already loaded policy together with the pickup availability
  // (the daemon validates its whole new config first, then swaps everything).
  void replace(Policy next, bool pickup_available);
  // A snapshot: stays valid and unchanged while a reload happens.
  std::shared_ptr<const Policy> current() const;
  bool pickup_available() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Policy> policy_;
  bool pickup_available_;
};

// The signature SealingTransformer (seal/) takes as its decider.
using Decider = std::function<Plan(const EnvelopeFacts&, const MessageFacts&,
                                   const std::map<std::string, KeyAvailability>&)>;

// Wires decide() to the live policy and the consent registry (`consent` may be
// null: nobody has consent on record). The live policy's pickup availability
// overrides the fact in the envelope (the daemon knows whether a portal is
// configured). If the registry cannot be read, every recipient is deferred
// (temporary, fail closed) rather than rejected for "no consent".
Decider make_decider(std::shared_ptr<LivePolicy> policy, std::shared_ptr<ConsentStore> consent);

}  // namespace sealpost::policy
