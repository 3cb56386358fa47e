// sealpost check-config: loads sealpost.yaml and the policy it names with the
// same loaders the daemon uses; prints "config OK" or the first error.
#include <cstdio>

#include "cli/commands.h"
#include "config/config.h"
#include "policy/policy.h"

namespace sealpost::cli {

int cmd_check_config(const Context& ctx) {
  if (!ctx.args.empty()) return usage_error("check-config takes no arguments");
  auto config = load_config(ctx.config_path);
  if (!config) return fail(config.error().what());
  auto policy = policy::load_policy(config->policy);
  if (!policy) return fail(policy.error().what());
  std::puts("config OK");
  return kOk;
}

}  // namespace sealpost::cli
