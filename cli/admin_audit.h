// The admin command's own audit chain, <state_dir>/admin-audit/: one record per
// change an admin makes with `sealpost` (pickup revoked or purged, queue entry
// released or deleted, consent given or withdrawn, keys imported, approved or
// removed, staff accounts added), with who ran it. The daemon's chain is held
// by sealpostd while it runs, so the CLI keeps a chain of its own; `audit
// verify` and `audit report` read all three.
//
// The change is recorded after it succeeded. A record that cannot be written
// makes the command fail (exit 1) with a message that says the change itself
// was made, so the admin knows the trail has a gap and why.
#pragma once

#include <string>

#include "audit/audit_line.h"
#include "common/result.h"

namespace sealpost::cli {

// Appends `type` (e.g. "pickup.revoked") with `fields` plus actor/uid to the
// admin chain of the state dir named in `config_path`.
Result<void> record_admin_action(const std::string& config_path, const std::string& type,
                                 audit::Fields fields);

// record_admin_action, and on failure prints why to stderr; returns the exit
// code the command should end with (kOk or kFailure).
int finish_with_audit(const std::string& config_path, const std::string& type,
                      audit::Fields fields);

}  // namespace sealpost::cli
