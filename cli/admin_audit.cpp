#include "cli/admin_audit.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>

#include "audit/audit_log.h"
#include "audit/audit_settings.h"
#include "cli/commands.h"
#include "cli/state_owner.h"
#include "config/config.h"

namespace sealpost::cli {
namespace {

// Who ran the command, not whose rights it uses on the state dir (cli/main.cpp).
std::string actor_name() {
  // SUDO_USER names the person behind sudo; the uid is what the kernel knows.
  if (const char* sudo = ::getenv("SUDO_USER"); sudo && *sudo && started_as_root())
    return std::string(sudo) + " (sudo)";
  if (const passwd* pw = ::getpwuid(invoking_uid())) return pw->pw_name;
  return "uid " + std::to_string(invoking_uid());
}

}  // namespace

Result<void> record_admin_action(const std::string& config_path, const std::string& type,
                                 audit::Fields fields) {
  // `user add` comes here as root after writing users.yaml: the chain is the
  // daemon user's like everything else in the state dir.
  if (auto r = act_as_state_dir_owner(config_path); !r) return r.error();
  auto config = load_config(config_path);
  if (!config) return config.error();
  auto settings = audit::load_audit_settings(config_path);
  if (!settings) return settings.error();
  audit::AuditLogOptions options;
  options.retention = settings->retention;
  options.wait_for_lock = true;
  const auto dir = audit::admin_audit_dir(config->state_dir);
  auto log = audit::AuditLog::open(dir, options);
  if (!log) return log.error();
  fields.emplace_back("actor", actor_name());
  fields.emplace_back("uid", std::to_string(invoking_uid()));
  (*log)->record(AuditEvent{type, std::move(fields)});
  if (!(*log)->healthy()) return Error::plain("could not write to " + dir.string());
  return {};
}

int finish_with_audit(const std::string& config_path, const std::string& type,
                      audit::Fields fields) {
  if (auto r = record_admin_action(config_path, type, std::move(fields)); !r) {
    (void)std::fprintf(stderr, "sealpost: done, but the audit record (%s) was not written: %s\n",
                       type.c_str(), r.error().what().c_str());
    return kFailure;
  }
  return kOk;
}

}  // namespace sealpost::cli
