// sealpost policy explain: what would happen to a message, per recipient, and
// why. Uses the same loaders and decide() as the daemon; only the facts come
// from the command line instead of a message.
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "config/config.h"
#include "policy/consent_store.h"
#include "policy/decide.h"
#include "policy/key_lookup.h"
#include "policy/pattern.h"
#include "policy/plan_json.h"

namespace sealpost::cli {
namespace {

using namespace sealpost::policy;

constexpr const char* kExplainUsage =
    "policy explain --from A --to B [--to C]... [--subject S] [--header 'K: V']... "
    "[--attachments] [--encrypted] [--auth-user U]";

struct ExplainArgs {
  EnvelopeFacts envelope;
  MessageFacts message;
};

// Returns an error text for a usage problem, empty on success.
std::string parse_args(const std::vector<std::string>& args, ExplainArgs& out) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& dest) -> bool {
      if (i + 1 >= args.size()) return false;
      dest = args[++i];
      return true;
    };
    std::string v;
    if (a == "--attachments") {
      out.message.has_attachments = true;
    } else if (a == "--encrypted") {
      out.message.already_encrypted = true;
    } else if (a == "--from") {
      if (!value(out.envelope.sender)) return "--from needs an address";
    } else if (a == "--auth-user") {
      if (!value(out.envelope.auth_user)) return "--auth-user needs a name";
    } else if (a == "--to") {
      if (!value(v)) return "--to needs an address";
      out.envelope.recipients.push_back(v);
    } else if (a == "--subject") {
      if (!value(out.message.subject)) return "--subject needs a text";
    } else if (a == "--header") {
      if (!value(v)) return "--header needs 'Name: value'";
      auto colon = v.find(':');
      if (colon == std::string::npos || colon == 0) return "--header needs 'Name: value'";
      std::string_view val = std::string_view(v).substr(colon + 1);
      while (!val.empty() && val.front() == ' ') val.remove_prefix(1);
      out.message.headers.emplace(to_lower(v.substr(0, colon)), std::string(val));
    } else {
      return "unknown option '" + a + "' for policy explain";
    }
  }
  if (out.envelope.sender.empty()) return "policy explain needs --from";
  if (out.envelope.recipients.empty()) return "policy explain needs at least one --to";
  return {};
}

void print_text(const Plan& plan) {
  for (const auto& r : plan.recipients) {
    std::printf("%s\n  method: %s\n  rule:   %s (%s)\n", r.address.c_str(), method_name(r.method),
                r.rule.c_str(), r.rule_location.c_str());
    if (r.method == Method::Smime) std::printf("  cipher: %s\n", r.smime_cipher.c_str());
    if (r.method == Method::Pickup)
      std::printf("  pickup: auth %s, expires after %lld days\n", r.pickup.auth.c_str(),
                  static_cast<long long>(r.pickup.expires.count() / 86400));
    if (!r.reject_text.empty()) std::printf("  reject text: %s\n", r.reject_text.c_str());
    std::printf("  scrub:  %s, sign: %s\n", r.scrub_profile.c_str(), r.sign ? "yes" : "no");
    for (const auto& reason : r.reasons) std::printf("  - %s\n", reason.c_str());
  }
  if (!plan.subject_tag_removed.empty())
    std::printf("subject tag %s removed; subject becomes: %s\n", plan.subject_tag_removed.c_str(),
                plan.subject_without_tag.c_str());
}

int explain(const Context& ctx) {
  ExplainArgs in;
  if (auto err = parse_args(ctx.args, in); !err.empty())
    return usage_error(err + "\nusage: sealpost " + kExplainUsage);

  auto config = load_config(ctx.config_path);
  if (!config) return fail(config.error().what());
  auto pol = load_policy(config->policy);
  if (!pol) return fail(pol.error().what());
  in.envelope.pickup_available = config->portal.has_value();

  // No database yet simply means no consent on record for anyone.
  std::map<std::string, Consent> consent;
  const std::string db = state_db_path(config->state_dir);
  if (std::filesystem::exists(db)) {
    auto store = open_sqlite_consent_store(db, false);
    if (!store) return fail(store.error().what());
    auto found = lookup_consent(**store, in.envelope.recipients);
    if (!found) return fail(found.error().what());
    consent = std::move(*found);
  }

  auto lookup = make_key_lookup(*config);
  std::map<std::string, KeyAvailability> keys;
  for (const auto& r : in.envelope.recipients) keys[r] = lookup->lookup(r);

  Plan plan = decide(*pol, in.envelope, in.message, keys, consent);
  // What the daemon does when the keystore cannot answer (fail closed, see
  // seal/sealing_transformer.cpp): the recipient waits, whatever the walk said.
  for (auto& rp : plan.recipients) {
    const auto k = keys.find(rp.address);
    if (k == keys.end() || !k->second.failed) continue;
    rp.method = Method::Defer;
    rp.reasons.push_back("deferred: sealpostd decides nothing without a working keystore");
  }
  if (ctx.json) {
    std::printf("%s\n", plan_to_json(plan).c_str());
  } else {
    print_text(plan);
  }
  return kOk;
}

}  // namespace

int cmd_policy(const Context& ctx) {
  if (ctx.args.empty() || ctx.args[0] != "explain")
    return usage_error(std::string("usage: sealpost ") + kExplainUsage);
  return explain(ctx);
}

}  // namespace sealpost::cli
