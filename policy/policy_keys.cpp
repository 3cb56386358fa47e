#include "policy/policy_keys.h"

namespace sealpost::policy {

const std::vector<PolicySection>& policy_sections() {
  static const std::vector<PolicySection> sections = {
      {"", {"defaults", "rules", "scrub_profiles"}},
      {"defaults",
       {"methods", "sign", "scrub", "smime_cipher", "pickup", "require_consent", "reject_text"}},
      {"defaults.pickup", {"auth", "expires"}},
      {"rules[]",
       {"name", "match", "methods", "sign", "smime_cipher", "scrub", "pickup", "require_consent",
        "reject_text"}},
      {"rules[].match",
       {"recipient", "recipient_domain", "sender", "auth_user", "subject_tag", "header",
        "has_attachments", "already_encrypted"}},
      {"rules[].pickup", {"auth", "expires"}},
      {"scrub_profiles.*",
       {"headers", "remove_headers", "keep_headers", "rewrite_message_id", "image_metadata",
        "pdf_metadata", "office_metadata", "html_remote_content", "pass_unscrubbable"}},
  };
  return sections;
}

const std::vector<std::string>& policy_section_keys(const std::string& path) {
  static const std::vector<std::string> none;
  for (const auto& s : policy_sections())
    if (s.path == path) return s.keys;
  return none;
}

const std::vector<std::string>& policy_known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const auto& s : policy_sections())
      for (const auto& k : s.keys) out.push_back(s.path.empty() ? k : s.path + "." + k);
    return out;
  }();
  return keys;
}

}  // namespace sealpost::policy
