// The `sealpost` admin command: one function per verb group, each in its own
// cmd_<group>.cpp, all working on the same modules the daemon uses.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

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

// Started as root on a state dir owned by another user (the packaged
// "sealpost"): reads the root-only spool key sources, then switches for good
// to that user's uid, gid and groups, so every file the command creates there
// is the daemon's. No-op otherwise and when called again. `input_files` that
// root could read but that user cannot give a clear error. (cli/main.cpp)
Result<void> act_as_state_dir_owner(const std::string& config_path,
                                    const std::vector<std::string>& input_files = {});
// Who ran the command, as it was before any switch (for the admin audit trail).
uid_t invoking_uid();
bool started_as_root();

// Prints "sealpost: <reason>" to stderr and returns kFailure / kUsage.
int fail(const std::string& reason);
int usage_error(const std::string& reason);

}  // namespace sealpost::cli
