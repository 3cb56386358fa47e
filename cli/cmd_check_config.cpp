// sealpost check-config: loads sealpost.yaml and the policy it names with the
// same loaders the daemon uses, and opens the files sealpostd needs at start
// (listener certificates and keys, users, passwords); prints "config OK" or the
// first error. --list-keys / --list-policy-keys print every accepted key (one
// dotted path per line) for documentation checks; they need no config file.
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "audit/audit_settings.h"
#include "cli/commands.h"
#include "cli/state_owner.h"
#include "common/durable_file.h"
#include "config/config.h"
#include "config/config_keys.h"
#include "metrics/metrics_settings.h"
#include "policy/policy.h"
#include "policy/policy_keys.h"
#include "portal/notice.h"
#include "portal/portal_settings.h"
#include "portal/sms_failure_marker.h"
#include "relay/auth/user_directory.h"
#include "relay/server/tls_context.h"

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

// Risky SMS settings and a gateway that failed last time: warnings only, the
// portal still starts (the code path degrades to "could not send").
void warn_sms(const Config& config) {
  if (!config.portal) return;
  if (const auto& w = config.portal->sms_webhook) {
    // sealpost.yaml is world-readable: a credential in the URL is not a secret.
    const std::string_view rest = std::string_view(w->url).substr(8);  // after https://
    const auto authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.find('@') != std::string_view::npos || rest.find('?') != std::string_view::npos)
      (void)std::fprintf(stderr,
                         "warning: portal.sms_webhook.url carries user info or a query; "
                         "sealpost.yaml is readable by every user, so put any credential into "
                         "portal.sms_webhook.auth_header_file instead\n");
    if (w->auth_header_file.empty())
      (void)std::fprintf(stderr,
                         "warning: portal.sms_webhook has no auth_header_file: anyone who can "
                         "reach the gateway URL could send SMS through it unless it checks "
                         "something else\n");
  }
  const std::string& cmd = config.portal->sms_command;
  if (!cmd.empty()) {
    const std::string program = cmd.substr(0, cmd.find(' '));
    if (::access(program.c_str(), X_OK) != 0)
      (void)std::fprintf(stderr, "warning: portal.sms_command: %s is not an executable file: %s\n",
                         program.c_str(), std::strerror(errno));
  }
  if (auto last = portal::last_sms_failure(config.state_dir))
    (void)std::fprintf(stderr,
                       "warning: the portal's last SMS send failed (%s); details in "
                       "sealpost-portal's journal, the marker %s goes with the next success\n",
                       last->c_str(), portal::sms_failure_marker(config.state_dir).c_str());
}

// What a fresh install lacks until the admin provides it (docs/admin-guide.md,
// "First start"): the daemon would only find out when it starts or, for the
// smarthost password, at the first delivery.
Result<void> check_files(const Config& config) {
  for (const auto& l : config.listen)
    if (l.tls)
      if (auto ctx = server::make_server_tls_context(*l.tls); !ctx)
        return Error::plain("listen " + l.address + ": " + ctx.error().what());
  if (config.portal && config.portal->tls)
    if (auto ctx = server::make_server_tls_context(*config.portal->tls); !ctx)
      return Error::plain("portal.tls: " + ctx.error().what());
  if (!config.users.empty())
    if (auto users = auth::UserDirectory::load(config.users); !users)
      return Error::plain("users: " + users.error().what());
  const auto secret_file = [](const std::string& path, const std::string& what) -> Result<void> {
    if (path.empty()) return {};
    auto text = read_file(path, 4096);
    if (!text) return Error::plain(what + ": " + text.error().what());
    const bool empty = text->find_first_not_of("\r\n") == std::string::npos;
    std::fill(text->begin(), text->end(), '\0');
    if (empty) return Error::plain(what + ": " + path + " is empty");
    return {};
  };
  if (auto r = secret_file(config.smarthost.password_file, "smarthost.password_file"); !r) return r;
  for (const auto& a : config.imap)
    if (auto r = secret_file(a.password_file, "imap[].password_file"); !r) return r;
  struct stat st {};
  for (const auto& anchor : config.keystore.trust_anchors)
    if (::stat(anchor.c_str(), &st) != 0)
      return Error::plain("keystore.trust_anchors: " + anchor + ": " + std::strerror(errno));
  return {};
}

// The secrets the config names. Their own mode is what guards them
// (/etc/sealpost is 0755): group-readable is how a root-owned secret reaches
// the daemon's group, but readable or writable by others is refused.
Result<void> check_secret_modes(const Config& config) {
  std::vector<std::pair<std::string, std::string>> secrets;  // what, path
  for (const auto& l : config.listen)
    if (l.tls) secrets.emplace_back("listen " + l.address + " tls.key", l.tls->key);
  if (config.portal && config.portal->tls)
    secrets.emplace_back("portal.tls.key", config.portal->tls->key);
  if (config.portal && config.portal->sms_webhook)
    secrets.emplace_back("portal.sms_webhook.auth_header_file",
                         config.portal->sms_webhook->auth_header_file);
  secrets.emplace_back("users (password hashes)", config.users);
  secrets.emplace_back("smarthost.password_file", config.smarthost.password_file);
  for (const auto& a : config.imap) secrets.emplace_back("imap[].password_file", a.password_file);
  secrets.emplace_back("queue.spool_key", config.queue.spool_key);
  for (const auto& k : config.queue.spool_old_keys) secrets.emplace_back("queue.spool_old_keys", k);
  // The key files used when queue.spool_key is not set (relay/spool/spool_keyring.h).
  secrets.emplace_back("spool key", config.state_dir + "/spool.key");
  secrets.emplace_back("spool key (packaged credential)", "/etc/sealpost/spool.key");
  for (const auto& [what, path] : secrets) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) continue;  // missing: reported elsewhere
    if ((st.st_mode & (S_IROTH | S_IWOTH)) == 0) continue;
    char mode[8];
    (void)std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    std::string why = what;
    why += ": ";
    why += path;
    why += (st.st_mode & S_IROTH) != 0 ? " is readable" : " is writable";
    why += " by every user (mode ";
    why += mode;
    why += "); chmod o-rwx it";
    return Error::plain(std::move(why));
  }
  return {};
}

// Run as root: the files sealpostd reads must be readable by the user it runs
// as (the state dir's owner). Checked in a child that takes that user's
// rights (cli/main.cpp), so this process keeps root's. Returns the files the
// daemon could not read, one per line, after the user's name.
std::string unreadable_for_daemon(const Context& ctx, const Config& config) {
  struct stat st {};
  if (::geteuid() != 0 || ::stat(config.state_dir.c_str(), &st) != 0 || st.st_uid == 0) return {};
  std::vector<std::string> files{ctx.config_path, config.policy};
  for (const auto& l : config.listen)
    if (l.tls) files.insert(files.end(), {l.tls->cert, l.tls->key});
  for (const auto* f : {&config.users, &config.smarthost.password_file})
    if (!f->empty()) files.push_back(*f);
  for (const auto& a : config.imap) files.push_back(a.password_file);
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid < 0) return {};
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    if (act_as_state_dir_owner(ctx.config_path)) {
      const passwd* pw = ::getpwuid(::getuid());
      out = (pw ? std::string(pw->pw_name) : "uid " + std::to_string(::getuid())) + "\n";
      for (const auto& f : files)
        if (::access(f.c_str(), R_OK) != 0) out += f + "\n";
    }
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return got;
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
  if (auto f = check_files(*config); !f) return fail(f.error().what());
  if (auto m = check_secret_modes(*config); !m) return fail(m.error().what());
  warn_sms(*config);
  if (const auto denied = unreadable_for_daemon(ctx, *config);
      denied.find('\n') + 1 < denied.size()) {
    const auto nl = denied.find('\n');
    std::string list = denied.substr(nl + 1);
    list.pop_back();
    for (auto& c : list)
      if (c == '\n') c = ' ';
    return fail("sealpostd runs as " + denied.substr(0, nl) + ", the owner of " +
                config->state_dir + ", which cannot read: " + list);
  }
  std::puts("config OK");
  return kOk;
}

}  // namespace sealpost::cli
