// The one list of keys policy.yaml accepts, used by the loader for unknown-key
// errors and by documentation checks (every key must be in sealpost-policy(5)).
#pragma once

#include <string>
#include <vector>

namespace sealpost::policy {

struct PolicySection {
  std::string path;  // "", "defaults", "rules[]", "rules[].match", "scrub_profiles.*", ...
  std::vector<std::string> keys;
};

const std::vector<PolicySection>& policy_sections();
// Keys of one section; empty for an unknown path.
const std::vector<std::string>& policy_section_keys(const std::string& path);
// Every key as a dotted path: "defaults.methods", "rules[].match.recipient",
// "scrub_profiles.*.keep_headers", ... (sections included).
const std::vector<std::string>& policy_known_keys();

}  // namespace sealpost::policy
