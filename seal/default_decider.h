// The fallback policy until policy::decide() is wired in: OpenPGP if a usable
// key exists, else S/MIME if a valid certificate exists, else Defer. Never
// plain, never pickup: those need an explicit rule.
#pragma once

#include <map>
#include <string>

#include "policy/plan.h"

namespace sealpost::seal {

policy::Plan default_decide(const policy::EnvelopeFacts& envelope,
                            const policy::MessageFacts& message,
                            const std::map<std::string, policy::KeyAvailability>& keys);

// "pgp", "smime", ... (seal/ does not link the policy library for this).
const char* method_label(policy::Method m);

}  // namespace sealpost::seal
