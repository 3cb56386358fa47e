// sealpost user add NAME [--address ADDR]...: adds a staff account to the
// users.yaml named by the config. The password comes from stdin (one line),
// never from the command line where `ps` and shell history would see it.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/admin_audit.h"
#include "cli/commands.h"
#include "config/config.h"
#include "relay/auth/user_directory.h"

namespace sealpost::cli {

namespace {

constexpr std::size_t kMaxPassword = 1024;

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
  if (name.empty()) return usage_error("usage: sealpost user add NAME [--address ADDR]...");
  if (!auth::valid_user_name(name))
    return usage_error("user name: use letters, digits and . _ - @ + (at most 64)");

  for (const auto& a : addresses)
    if (auto norm = auth::normalize_address(a); !norm)
      return fail("--address " + a + ": " + norm.error().what());

  auto config = load_config(ctx.config_path);
  if (!config) return fail(config.error().what());
  if (config->users.empty()) return fail(ctx.config_path + ": no 'users:' file configured");

  std::string password;
  if (!std::getline(std::cin, password)) return fail("no password on stdin");
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return fail("empty password on stdin");
  if (password.size() > kMaxPassword) {
    auth::wipe_secret(password);
    return fail("password longer than 1024 bytes");
  }
  auto added = auth::add_user(config->users, name, password, addresses);
  auth::wipe_secret(password);
  if (!added) return fail(added.error().what());
  std::printf("user %s added (%zu address%s)\n", name.c_str(), addresses.size(),
              addresses.size() == 1 ? "" : "es");
  std::string joined;
  for (const auto& a : addresses) joined += (joined.empty() ? "" : ",") + a;
  return finish_with_audit(ctx.config_path, "user.added", {{"user", name}, {"addresses", joined}});
}

}  // namespace

int cmd_user(const Context& ctx) {
  if (ctx.args.empty()) return usage_error("usage: sealpost user add NAME [--address ADDR]...");
  if (ctx.args[0] == "add") return user_add(ctx);
  return usage_error("unknown user verb '" + ctx.args[0] + "'");
}

}  // namespace sealpost::cli
