// What a SIGHUP may change while sealpostd runs, decided before anything is
// swapped (DESIGN §3.2: a bad new config is refused as a whole).
//
//   refused (the reload is rejected, the running config kept):
//     state_dir, queue.spool_key, queue.spool_old_keys
//     (the spool is opened with its keys at start; see docs/queue.md for rotation)
//   kept at the running value until a restart, with a warning:
//     listen addresses added or removed (the bound ones keep serving, with
//     their new settings if still listed), queue.workers,
//     limits.max_message_size (the sealing step's MIME limit is fixed at
//     start), limits.message_memory (the spool's and sealing's spill
//     settings), keystore (every key, domain_signers included), imap (every
//     key of every account, key_change and readable_folder included)
//   everything else takes effect for new sessions and the next attempts.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace sealpost {

struct ReloadPlan {
  Config applied;                          // the new config, restart-only settings as running
  std::vector<std::string> needs_restart;  // keys whose change waits for a restart
};

Result<ReloadPlan> plan_reload(const Config& running, Config next);

}  // namespace sealpost
