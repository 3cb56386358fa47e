#include "audit/audit_settings.h"

#include "common/durable_file.h"
#include "config/yaml_reader.h"

namespace sealpost::audit {

Result<AuditSettings> parse_audit_settings(const std::string& yaml_text, const std::string& name) {
  return run_yaml_loader<AuditSettings>([&] {
    YamlReader r(name, std::filesystem::path(name).parent_path());
    const YAML::Node root = r.parse(yaml_text);
    AuditSettings s;
    if (!root.IsMap() || !root["audit"]) return s;
    const YAML::Node audit = root["audit"];
    r.check_map(audit, "audit", {"retention"});
    if (const YAML::Node n = audit["retention"]) {
      if (n.IsScalar() && n.Scalar() == "forever") {
        s.retention.reset();
      } else {
        const auto secs = r.duration(n, "audit.retention");
        const auto days = std::chrono::duration_cast<std::chrono::days>(secs);
        if (days.count() < 1) r.fail(n, "audit.retention: must be at least 1d (or 'forever')");
        s.retention = days;
      }
    }
    return s;
  });
}

Result<AuditSettings> load_audit_settings(const std::string& config_path) {
  auto text = read_file(config_path, 1u << 20);
  if (!text) return text.error();
  return parse_audit_settings(*text, config_path);
}

std::filesystem::path relay_audit_dir(const std::string& state_dir) {
  return std::filesystem::path(state_dir) / "audit";
}

std::filesystem::path portal_audit_dir(const std::string& state_dir) {
  return std::filesystem::path(state_dir) / "portal-audit";
}

std::filesystem::path admin_audit_dir(const std::string& state_dir) {
  return std::filesystem::path(state_dir) / "admin-audit";
}

}  // namespace sealpost::audit
