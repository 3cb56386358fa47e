// Running sealpostd as root only for as long as binding ports needs it.
//
// Under systemd the unit already starts it as "sealpost" with
// CAP_NET_BIND_SERVICE as its only capability, dropped once bound as well. Started by hand as root,
// `sealpostd --user NAME` switches to NAME before it opens any file or parses
// any input, keeping CAP_NET_BIND_SERVICE alone; once the listeners are bound
// that capability is dropped too.
#pragma once

#include <string>

#include "common/result.h"

namespace sealpost {

// setgroups/setgid/setuid to `user`, keeping only CAP_NET_BIND_SERVICE.
// Also makes `state_dir` (created if missing) owned by the user.
Result<void> become_user(const std::string& user, const std::string& state_dir);

// Clears every capability that is left (after the listeners are bound):
// effective, permitted, inheritable and with them the ambient set. A no-op
// for root (euid 0), which sealpostd only is when started without --user.
Result<void> drop_all_capabilities();

}  // namespace sealpost
