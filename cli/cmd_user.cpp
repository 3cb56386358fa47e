// sealpost user add NAME [--address ADDR]... | user passwd NAME: staff accounts
// in the users.yaml named by the config. The password comes from stdin (one
// line), never from the command line where `ps` and shell history would see it.
// users.yaml lives under /etc/sealpost, root's: it is written with the rights
// the command was started with, and only then, for the audit record in the
// state dir, does the command take the state dir owner's rights.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/admin_audit.h"
#include "cli/commands.h"
#include "config/config.h"
#include "relay/auth/user_directory.h"

namespace sealpost::cli {

namespace {

constexpr std::size_t kMaxPassword = 1024;
constexpr const char* kUserUsage =
    "usage: sealpost user add NAME [--address ADDR]... | sealpost user passwd NAME";

// One line from stdin; the caller wipes it. Empty optional after printing why.
std::optional<std::string> read_password() {
  std::string password;
  if (!std::getline(std::cin, password)) {
    fail("no password on stdin");
    return std::nullopt;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    fail("empty password on stdin");
    return std::nullopt;
  }
  if (password.size() > kMaxPassword) {
    auth::wipe_secret(password);
    fail("password longer than 1024 bytes");
    return std::nullopt;
  }
  return password;
}

// The users file named by the config, or "" after printing why there is none.
std::string users_file(const Context& ctx) {
  auto config = load_config(ctx.config_path);
  if (!config) {
    fail(config.error().what());
    return {};
  }
  if (config->users.empty()) fail(ctx.config_path + ": no 'users:' file configured");
  return config->users;
}

int user_add(const Context& ctx) {
  std::string name;
  std::vector<std::string> addresses;
  for (std::size_t i = 1; i < ctx.args.size(); ++i) {
    const std::string& a = ctx.args[i];
    if (a == "--address") {
      if (i + 1 >= ctx.args.size()) return usage_error("--address needs a value");
      addresses.push_back(ctx.args[++i]);
    } else if (a.rfind("--address=", 0) == 0) {
      addresses.push_back(a.substr(10));
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a);
    } else if (name.empty()) {
      name = a;
    } else {
      return usage_error("user add takes one NAME");
    }
  }
  if (name.empty()) return usage_error(kUserUsage);
  if (!auth::valid_user_name(name))
    return usage_error("user name: use letters, digits and . _ - @ + (at most 64)");

  for (const auto& a : addresses)
    if (auto norm = auth::normalize_address(a); !norm)
      return fail("--address " + a + ": " + norm.error().what());

  const std::string path = users_file(ctx);
  if (path.empty()) return kFailure;
  auto password = read_password();
  if (!password) return kFailure;
  auto added = auth::add_user(path, name, *password, addresses);
  auth::wipe_secret(*password);
  if (!added) return fail(added.error().what());
  std::printf("user %s added (%zu address%s)\n", name.c_str(), addresses.size(),
              addresses.size() == 1 ? "" : "es");
  std::string joined;
  for (const auto& a : addresses) joined += (joined.empty() ? "" : ",") + a;
  return finish_with_audit(ctx.config_path, "user.added", {{"user", name}, {"addresses", joined}});
}

int user_passwd(const Context& ctx) {
  if (ctx.args.size() != 2 || ctx.args[1].empty() || ctx.args[1][0] == '-')
    return usage_error(kUserUsage);
  const std::string& name = ctx.args[1];
  const std::string path = users_file(ctx);
  if (path.empty()) return kFailure;
  auto password = read_password();
  if (!password) return kFailure;
  auto changed = auth::set_password(path, name, *password);
  auth::wipe_secret(*password);
  if (!changed) return fail(changed.error().what());
  // sealpostd reads users.yaml at start and on SIGHUP (systemctl reload).
  std::printf("password of %s changed; 'systemctl reload sealpostd' makes it active\n",
              name.c_str());
  return finish_with_audit(ctx.config_path, "user.password_changed", {{"user", name}});
}

}  // namespace

int cmd_user(const Context& ctx) {
  if (ctx.args.empty()) return usage_error(kUserUsage);
  if (ctx.args[0] == "add") return user_add(ctx);
  if (ctx.args[0] == "passwd") return user_passwd(ctx);
  return usage_error("unknown user verb '" + ctx.args[0] + "'");
}

}  // namespace sealpost::cli
