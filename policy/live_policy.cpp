#include "policy/live_policy.h"

namespace sealpost::policy {

LivePolicy::LivePolicy(Policy initial, bool pickup_available)
    : policy_(std::make_shared<const Policy>(std::move(initial))),
      pickup_available_(pickup_available) {}

Result<void> LivePolicy::reload(const std::string& path) {
  auto loaded = load_policy(path);
  if (!loaded) return loaded.error();
  auto fresh = std::make_shared<const Policy>(std::move(*loaded));
  std::lock_guard lock(mu_);
  policy_ = std::move(fresh);
  return {};
}

void LivePolicy::replace(Policy next, bool pickup_available) {
  auto fresh = std::make_shared<const Policy>(std::move(next));
  std::lock_guard lock(mu_);
  policy_ = std::move(fresh);
  pickup_available_ = pickup_available;
}

std::shared_ptr<const Policy> LivePolicy::current() const {
  std::lock_guard lock(mu_);
  return policy_;
}

bool LivePolicy::pickup_available() const {
  std::lock_guard lock(mu_);
  return pickup_available_;
}

Decider make_decider(std::shared_ptr<LivePolicy> policy, std::shared_ptr<ConsentStore> consent) {
  return [policy = std::move(policy), consent = std::move(consent)](
             const EnvelopeFacts& envelope, const MessageFacts& message,
             const std::map<std::string, KeyAvailability>& keys) -> Plan {
    EnvelopeFacts facts = envelope;
    facts.pickup_available = policy->pickup_available();
    std::map<std::string, Consent> states;
    if (consent) {
      auto found = lookup_consent(*consent, envelope.recipients);
      if (!found) {
        Plan deferred;
        for (const auto& address : envelope.recipients) {
          RecipientPlan rp;
          rp.address = address;
          rp.method = Method::Defer;
          rp.rule = "consent-registry";
          rp.reasons.push_back("consent registry unavailable: " + found.error().what());
          deferred.recipients.push_back(std::move(rp));
        }
        return deferred;
      }
      states = std::move(*found);
    }
    return decide(*policy->current(), facts, message, keys, states);
  };
}

}  // namespace sealpost::policy
