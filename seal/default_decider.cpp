#include "seal/default_decider.h"

namespace sealpost::seal {

const char* method_label(policy::Method m) {
  switch (m) {
    case policy::Method::Pgp:
      return "pgp";
    case policy::Method::Smime:
      return "smime";
    case policy::Method::Pickup:
      return "pickup";
    case policy::Method::Plain:
      return "plain";
    case policy::Method::Reject:
      return "reject";
    case policy::Method::Hold:
      return "hold";
    case policy::Method::Defer:
      return "defer";
  }
  return "defer";
}

policy::Plan default_decide(const policy::EnvelopeFacts& envelope, const policy::MessageFacts&,
                            const std::map<std::string, policy::KeyAvailability>& keys) {
  policy::Plan plan;
  for (const auto& address : envelope.recipients) {
    policy::RecipientPlan rp;
    rp.address = address;
    rp.rule = "builtin-default";
    const auto it = keys.find(address);
    const policy::KeyAvailability avail = it == keys.end() ? policy::KeyAvailability{} : it->second;
    if (avail.pgp) {
      rp.method = policy::Method::Pgp;
      rp.reasons.push_back("usable OpenPGP key");
    } else if (avail.smime) {
      rp.method = policy::Method::Smime;
      rp.reasons.push_back("no OpenPGP key; valid S/MIME certificate");
    } else {
      rp.method = policy::Method::Defer;
      rp.reasons.push_back("no usable OpenPGP key or S/MIME certificate");
    }
    plan.recipients.push_back(std::move(rp));
  }
  return plan;
}

}  // namespace sealpost::seal
