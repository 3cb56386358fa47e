// The sealpostd process: wires config, spool, SMTP listeners, the transform
// step and delivery together, and owns signals (TERM drains, HUP reloads,
// USR1 flushes the queue).
#pragma once

#include <string>

namespace sealpost {

struct DaemonOptions {
  std::string config_path = "/etc/sealpost/sealpost.yaml";
  std::string log_format;  // overrides config log.format when set
  std::string log_level;   // overrides config log.level when set
  std::string user;        // started as root: switch to this user (see privileges.h)
};

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_daemon(const DaemonOptions& opts);

}  // namespace sealpost
