// Fuzz target: parse_policy() on arbitrary bytes, and decide() on whatever
// loads, must never crash, hang or throw; errors must name the file.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/decide.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealpost::policy;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto policy = parse_policy(text, "fuzz.yaml");
  if (!policy) {
    if (policy.error().what().rfind("fuzz.yaml", 0) != 0) std::abort();
    return 0;
  }
  // A loaded policy always yields one plan per recipient, never plain by default.
  EnvelopeFacts env;
  env.sender = "mfa@praxis.example";
  env.auth_user = "mfa";
  env.recipients = {"a@praxis.example", "b@labor-x.example", "C@Example.ORG", "no-at-sign"};
  env.pickup_available = size % 2 == 0;
  MessageFacts msg;
  msg.subject = "[secure] Befund";
  msg.headers.emplace("sensitivity", "private");
  msg.has_attachments = size % 3 == 0;
  msg.already_encrypted = size % 5 == 0;
  std::map<std::string, KeyAvailability> keys{{"b@labor-x.example", {false, true, ""}}};
  Plan plan = decide(*policy, env, msg, keys, {});
  if (plan.recipients.size() != env.recipients.size()) std::abort();
  for (const auto& r : plan.recipients)
    if (r.rule == "defaults" && r.method == Method::Plain && !msg.already_encrypted) std::abort();
  return 0;
}
