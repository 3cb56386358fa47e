// sealpost: admin command line. Parses the global options and hands the rest
// to the verb group's function (cli/cmd_*.cpp).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/state_owner.h"

namespace sealpost::cli {

int fail(const std::string& reason) {
  (void)std::fprintf(stderr, "sealpost: %s\n", reason.c_str());
  return kFailure;
}

int usage_error(const std::string& reason) {
  (void)std::fprintf(stderr, "sealpost: %s\nTry 'sealpost --help'.\n", reason.c_str());
  return kUsage;
}

namespace {

constexpr const char* kUsageText =
    "usage: sealpost [-c FILE] [--json] VERB ...\n"
    "  check-config [--list-keys | --list-policy-keys]\n"
    "  user add NAME [--address ADDR]... | passwd NAME   (password on stdin)\n"
    "  keys import FILE... | list | locate ADDRESS | approve ID | remove (ID | --signer)\n"
    "  policy explain --from A --to B [--to C]... [--subject S] [--header 'K: V']\n"
    "  consent add|revoke|list|import ...\n"
    "  queue list | show ID | flush | release ID | delete ID\n"
    "  pickup list | revoke ID | purge\n"
    "  audit verify | report [--from D] [--to D] [--format md|csv|json] | prune\n"
    "  imap status\n";

struct Verb {
  const char* name;
  int (*fn)(const Context&);
};

constexpr Verb kVerbs[] = {
    {"check-config", cmd_check_config},
    {"user", cmd_user},
    {"keys", cmd_keys},
    {"policy", cmd_policy},
    {"consent", cmd_consent},
    {"queue", cmd_queue},
    {"pickup", cmd_pickup},
    {"audit", cmd_audit},
    {"imap", cmd_imap},
};

}  // namespace
}  // namespace sealpost::cli

int main(int argc, char** argv) {
  using namespace sealpost::cli;
  // What it creates in the state dir is as private as what sealpostd creates
  // there (the unit's UMask=0077); group-shared files set their mode explicitly.
  ::umask(077);
  Context ctx;
  ctx.config_path = "/etc/sealpost/sealpost.yaml";
  std::string verb;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--json") {
      ctx.json = true;
    } else if (verb.empty() && (a == "-c" || a == "--config")) {
      if (++i >= argc) return usage_error("-c needs a FILE");
      ctx.config_path = argv[i];
    } else if (verb.empty() && (a == "-h" || a == "--help")) {
      (void)std::fputs(kUsageText, stdout);
      return kOk;
    } else if (verb.empty()) {
      if (!a.empty() && a[0] == '-') return usage_error("unknown option " + std::string(a));
      verb = a;
    } else {
      ctx.args.emplace_back(a);
    }
  }
  if (verb.empty()) {
    (void)std::fputs(kUsageText, stderr);
    return kUsage;
  }
  for (const auto& v : kVerbs) {
    if (verb != v.name) continue;
    // check-config touches no state; `user` writes /etc/sealpost/users.yaml
    // with the caller's rights first (admin_audit switches before it records).
    if (verb != "check-config" && verb != "user") {
      if (auto r = act_as_state_dir_owner(ctx.config_path, ctx.args); !r)
        return fail(r.error().what());
    }
    return v.fn(ctx);
  }
  return usage_error("unknown verb '" + verb + "'");
}
