// The `audit:` section of sealpost.yaml:
//
//   audit:
//     retention: 365d     # events older than this are pruned (whole days); "forever" keeps all
//
// Read here rather than in config/load.cpp so the audit module owns its keys;
// config_keys.cpp must still list them for the main loader to accept the file.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace sealpost::audit {

struct AuditSettings {
  std::optional<std::chrono::days> retention = std::chrono::days(365);
};

Result<AuditSettings> load_audit_settings(const std::string& config_path);
Result<AuditSettings> parse_audit_settings(const std::string& yaml_text, const std::string& name);

// The chain directories under a state dir: the relay's own (audit/), the
// portal's (portal-audit/, written by the separate sealpost-portal user) and
// the admin command's (admin-audit/: what `sealpost` changed, and who ran it).
std::filesystem::path relay_audit_dir(const std::string& state_dir);
std::filesystem::path portal_audit_dir(const std::string& state_dir);
std::filesystem::path admin_audit_dir(const std::string& state_dir);

}  // namespace sealpost::audit
