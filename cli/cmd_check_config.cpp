// sealpost check-config: loads sealpost.yaml and the policy it names with the
// same loaders the daemon uses; prints "config OK" or the first error.
// --list-keys / --list-policy-keys print every accepted key (one dotted path
// per line) for documentation checks; they need no config file.
#include <cstdio>

#include "cli/commands.h"
#include "config/config.h"
#include "config/config_keys.h"
#include "policy/policy.h"
#include "policy/policy_keys.h"

namespace sealpost::cli {
namespace {

int print_keys(const std::vector<std::string>& keys) {
  for (const auto& k : keys) std::puts(k.c_str());
  return kOk;
}

}  // namespace

int cmd_check_config(const Context& ctx) {
  if (ctx.args.size() == 1 && ctx.args[0] == "--list-keys") return print_keys(config_known_keys());
  if (ctx.args.size() == 1 && ctx.args[0] == "--list-policy-keys")
    return print_keys(policy::policy_known_keys());
  if (!ctx.args.empty())
    return usage_error("usage: sealpost check-config [--list-keys | --list-policy-keys]");
  auto config = load_config(ctx.config_path);
  if (!config) return fail(config.error().what());
  auto policy = policy::load_policy(config->policy);
  if (!policy) return fail(policy.error().what());
  std::puts("config OK");
  return kOk;
}

}  // namespace sealpost::cli
