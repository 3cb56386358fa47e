// Whose rights the admin command uses on the daemon's state, and who ran it.
//
// Root running `sealpost keys import`, `consent add`, `queue flush` ... would
// otherwise leave root-owned files in the state dir that sealpostd, running
// as "sealpost", can then no longer read or write. So, run as root on a state
// dir owned by another user, the command takes that user's rights for good
// before it touches the state -- after reading what only root may read.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace sealpost::cli {

// Who ran the command, as it was before any switch (for the admin audit trail).
uid_t invoking_uid();
bool started_as_root();

// Started as root on a state dir owned by another user (the packaged
// "sealpost"): reads the root-only spool key sources, then switches for good
// to that user's uid, gid and groups (or, for a uid without a passwd entry,
// the state dir's group alone), so every file the command creates there is
// the daemon's. No-op otherwise and when called again. `input_files` that
// root could read but that user cannot give a clear error.
Result<void> act_as_state_dir_owner(const std::string& config_path,
                                    const std::vector<std::string>& input_files = {});

}  // namespace sealpost::cli
