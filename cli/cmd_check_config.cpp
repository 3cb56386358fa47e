// sealpost check-config: loads sealpost.yaml and the policy it names with the
// same loaders the daemon uses; prints "config OK" or the first error.
// --list-keys / --list-policy-keys print every accepted key (one dotted path
// per line) for documentation checks; they need no config file.
#include <algorithm>
#include <cstdio>

#include "audit/audit_settings.h"
#include "cli/commands.h"
#include "config/config.h"
#include "config/config_keys.h"
#include "metrics/metrics_settings.h"
#include "policy/policy.h"
#include "policy/policy_keys.h"
#include "portal/notice.h"
#include "portal/portal_settings.h"

namespace sealpost::cli {
namespace {

int print_keys(const std::vector<std::string>& keys) {
  for (const auto& k : keys) std::puts(k.c_str());
  return kOk;
}

// Every pickup second factor the policy can choose, with where it is chosen.
std::vector<std::pair<std::string, std::string>> pickup_auths(const policy::Policy& p) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto has_pickup = [](const std::vector<policy::Method>& m) {
    return std::find(m.begin(), m.end(), policy::Method::Pickup) != m.end();
  };
  if (has_pickup(p.defaults.methods)) out.emplace_back(p.defaults.pickup.auth, p.defaults.location);
  for (const auto& r : p.rules) {
    const auto& methods = r.actions.methods ? *r.actions.methods : p.defaults.methods;
    if (has_pickup(methods))
      out.emplace_back(r.actions.pickup_auth.value_or(p.defaults.pickup.auth), r.location);
  }
  return out;
}

// What the daemon would only find out when the first pickup is due: the
// notice templates must render, and an sms pickup needs a way to send codes.
Result<void> check_pickup(const Config& config, const policy::Policy& policy) {
  const auto auths = pickup_auths(policy);
  if (auths.empty() || !config.portal) return {};
  const auto ps = portal::settings_from_config(config);
  for (const auto& [auth, where] : auths) {
    pickup::NoticeParams n;
    n.from_address = ps.mail_from;
    n.to_address = "patient@example.org";
    n.practice_name = ps.practice_name;
    n.link = "https://pickup.invalid/p/x/y";
    n.expires_at = 4102444800;
    n.auth_method = auth;
    n.templates_dir = ps.templates_dir;
    if (auto r = pickup::compose_notice(n); !r) {
      std::string why = where;
      why += ": pickup notice (auth ";
      why += auth;
      why += ") cannot be built: ";
      why += r.error().what();
      return Error::plain(std::move(why));
    }
    if (auth == "sms" && ps.sms_command.empty())
      (void)std::fprintf(stderr,
                         "warning: %s: pickups with auth sms need portal.sms_command; without it "
                         "every such pickup is refused\n",
                         where.c_str());
  }
  return {};
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
  // The sections read by other modules, with the loaders the daemon uses.
  if (auto a = audit::load_audit_settings(ctx.config_path); !a) return fail(a.error().what());
  if (auto m = metrics::load_metrics_settings(ctx.config_path); !m) return fail(m.error().what());
  if (auto p = check_pickup(*config, *policy); !p) return fail(p.error().what());
  std::puts("config OK");
  return kOk;
}

}  // namespace sealpost::cli
