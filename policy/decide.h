// policy::decide(): facts in, Plan out. Pure and without I/O, so the daemon,
// `sealpost policy explain` and the tests all get the same answer.
#pragma once

#include <map>
#include <string>

#include "policy/plan.h"
#include "policy/policy.h"

namespace sealpost::policy {

// For each recipient: the first rule whose match holds (else the defaults),
// then consent, then the first usable method of the rule's list. Nothing
// usable -> Defer with a reason for every method skipped (fail closed).
// `keys` and `consent` are keyed by recipient address (exact or lower-case);
// a missing entry means "no keys" / "no consent on record".
Plan decide(const Policy& policy, const EnvelopeFacts& envelope, const MessageFacts& message,
            const std::map<std::string, KeyAvailability>& keys,
            const std::map<std::string, Consent>& consent);

// The staff-facing text of a consent refusal (German first: it goes to practice staff).
inline constexpr const char* kNoConsentText =
    "Patient hat der E-Mail-Kommunikation nicht zugestimmt / no consent on record";
inline constexpr const char* kConsentRevokedText =
    "Patient hat die Zustimmung zur E-Mail-Kommunikation widerrufen / consent revoked";

}  // namespace sealpost::policy
