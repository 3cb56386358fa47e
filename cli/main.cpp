// sealpost: admin command line. Parses the global options and hands the rest
// to the verb group's function (cli/cmd_*.cpp).
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "config/config.h"
#include "relay/spool/spool_keyring.h"

namespace sealpost::cli {

namespace {

uid_t g_invoking_uid = 0;
bool g_started_as_root = false;
bool g_switched = false;

}  // namespace

uid_t invoking_uid() {
  return g_invoking_uid;
}

bool started_as_root() {
  return g_started_as_root;
}

// Root running `sealpost keys import`, `consent add`, `queue flush` ... would
// otherwise leave root-owned files in the daemon's state dir (gnupg/,
// private/, keystore.db, sealpost.db, admin-audit/, spool envelopes) that
// sealpostd, running as "sealpost", can then no longer read or write (a
// signer key it cannot read means mail silently goes out unsigned). So the
// command takes the rights of the state dir's owner for good -- real, effective
// and saved ids, the owner's groups (as systemd gives them to the daemon) --
// once it has read what only root may read: the spool key sources.
Result<void> act_as_state_dir_owner(const std::string& config_path,
                                    const std::vector<std::string>& input_files) {
  if (g_switched || ::geteuid() != 0) return {};
  auto config = load_config(config_path);
  if (!config) return {};  // the verb itself reports the broken config
  struct stat st {};
  if (::stat(config->state_dir.c_str(), &st) != 0 || st.st_uid == 0) return {};
  const uid_t uid = st.st_uid;
  gid_t gid = st.st_gid;  // a uid without a passwd entry: the directory's group, no others
  std::string name = "uid " + std::to_string(uid);
  const passwd* pw = ::getpwuid(uid);
  const bool known = pw != nullptr;
  if (known) {
    name = pw->pw_name;
    gid = pw->pw_gid;
  }

  spool::SpoolKeyring::preload_for_cli(
      spool::SpoolKeySettings{config->queue.spool_key, config->queue.spool_old_keys},
      config->state_dir);
  // Files named on the command line that root can read: checked again below,
  // so an unreadable one gets a clear reason instead of "Permission denied".
  std::vector<std::string> inputs;
  for (const auto& f : input_files) {
    struct stat fst {};
    if (!f.empty() && ::stat(f.c_str(), &fst) == 0 && S_ISREG(fst.st_mode)) inputs.push_back(f);
  }

  const int groups = known ? ::initgroups(name.c_str(), gid) : ::setgroups(0, nullptr);
  if (groups != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0)
    return Error::plain("cannot take the rights of " + name + ", the owner of " +
                        config->state_dir + ": " + std::strerror(errno));
  if (::setresuid(0, 0, 0) == 0) return Error::plain("root rights could be regained; stopping");
  g_switched = true;
  for (const auto& f : inputs) {
    if (::access(f.c_str(), R_OK) != 0) {
      std::string why = f;
      why += " is not readable by " + name;
      why += ", the owner of " + config->state_dir;
      why +=
          ", whose rights sealpost uses on the daemon's state; make the file readable to that "
          "user (e.g. copy it to a directory it can read)";
      return Error::plain(std::move(why));
    }
  }
  return {};
}

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
    "  keys import FILE... | list | locate ADDRESS | approve ID | remove ID\n"
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
  g_invoking_uid = ::getuid();
  g_started_as_root = ::geteuid() == 0;
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
