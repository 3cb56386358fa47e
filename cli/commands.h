// The `sealpost` admin command: one function per verb group, each in its own
// cmd_<group>.cpp, all working on the same modules the daemon uses.
#pragma once

#include <string>
#include <vector>

namespace sealpost::cli {

// Exit codes (DESIGN.md §3.2).
inline constexpr int kOk = 0;
inline constexpr int kFailure = 1;  // user-facing failure, one-line reason on stderr
inline constexpr int kUsage = 2;

struct Context {
  std::string config_path;        // -c FILE (default /etc/sealpost/sealpost.yaml)
  bool json = false;              // --json anywhere on the line
  std::vector<std::string> args;  // after the verb group, e.g. {"list"} for "queue list"
};

int cmd_check_config(const Context& ctx);
int cmd_user(const Context& ctx);
int cmd_keys(const Context& ctx);
int cmd_policy(const Context& ctx);
int cmd_consent(const Context& ctx);
int cmd_queue(const Context& ctx);
int cmd_pickup(const Context& ctx);
int cmd_audit(const Context& ctx);
int cmd_imap(const Context& ctx);

// Prints "sealpost: <reason>" to stderr and returns kFailure / kUsage.
int fail(const std::string& reason);
int usage_error(const std::string& reason);

}  // namespace sealpost::cli
