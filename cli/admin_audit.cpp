#include "cli/admin_audit.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "audit/audit_log.h"
#include "audit/audit_settings.h"
#include "cli/commands.h"
#include "config/config.h"

namespace sealpost::cli {
namespace {

std::string actor_name() {
  // getlogin() names the person behind sudo; the uid is what the kernel knows.
  if (const char* sudo = ::getenv("SUDO_USER"); sudo && *sudo && ::geteuid() == 0)
    return std::string(sudo) + " (sudo)";
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return "uid " + std::to_string(::getuid());
}

// Run as root, the command would leave a root-owned chain that the same
// command run as the sealpost user could no longer append to: hand the
// directory and its files to the owner of the state dir.
void keep_state_dir_owner(const std::filesystem::path& state_dir,
                          const std::filesystem::path& dir) {
  if (::geteuid() != 0) return;
  struct stat st {};
  if (::stat(state_dir.c_str(), &st) != 0 || st.st_uid == 0) return;
  std::error_code ec;
  if (::lchown(dir.c_str(), st.st_uid, st.st_gid) != 0) return;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    (void)::lchown(e.path().c_str(), st.st_uid, st.st_gid);
}

}  // namespace

Result<void> record_admin_action(const std::string& config_path, const std::string& type,
                                 audit::Fields fields) {
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
  fields.emplace_back("uid", std::to_string(::getuid()));
  (*log)->record(AuditEvent{type, std::move(fields)});
  const bool ok = (*log)->healthy();
  keep_state_dir_owner(config->state_dir, dir);
  if (!ok) return Error::plain("could not write to " + dir.string());
  return {};
}

int finish_with_audit(const std::string& config_path, const std::string& type,
                      audit::Fields fields) {
  if (auto r = record_admin_action(config_path, type, std::move(fields)); !r) {
    std::fprintf(stderr, "sealpost: done, but the audit record (%s) was not written: %s\n",
                 type.c_str(), r.error().what().c_str());
    return kFailure;
  }
  return kOk;
}

}  // namespace sealpost::cli
