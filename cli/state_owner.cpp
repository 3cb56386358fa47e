#include "cli/state_owner.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/config.h"
#include "relay/spool/spool_keyring.h"

namespace sealpost::cli {

namespace {

// Taken before main() runs, so nothing can have switched yet.
const uid_t g_invoking_uid = ::getuid();
const bool g_started_as_root = ::geteuid() == 0;
bool g_switched = false;

}  // namespace

uid_t invoking_uid() {
  return g_invoking_uid;
}

bool started_as_root() {
  return g_started_as_root;
}

// gnupg/, private/, keystore.db, sealpost.db, admin-audit/ and spool envelopes
// made by root would lock the daemon out (a signer key it cannot read means
// mail goes out unsigned). Real, effective and saved ids all change, and the
// groups are the owner's as systemd gives them to the daemon.
Result<void> act_as_state_dir_owner(const std::string& config_path,
                                    const std::vector<std::string>& input_files) {
  if (g_switched || ::geteuid() != 0) return {};
  auto config = load_config(config_path);
  if (!config) return {};  // the verb itself reports the broken config
  struct stat st {};
  if (::stat(config->state_dir.c_str(), &st) != 0 || st.st_uid == 0) return {};
  const uid_t uid = st.st_uid;
  gid_t gid = st.st_gid;  // a uid without a passwd entry: the directory's group, no others
  std::string name = "uid " + std::to_string(uid);
  const passwd* pw = ::getpwuid(uid);
  const bool known = pw != nullptr;
  if (known) {
    name = pw->pw_name;
    gid = pw->pw_gid;
  }

  spool::SpoolKeyring::preload_for_cli(
      spool::SpoolKeySettings{config->queue.spool_key, config->queue.spool_old_keys},
      config->state_dir);
  // Files named on the command line that root can read: checked again below,
  // so an unreadable one gets a clear reason instead of "Permission denied".
  std::vector<std::string> inputs;
  for (const auto& f : input_files) {
    struct stat fst {};
    if (!f.empty() && ::stat(f.c_str(), &fst) == 0 && S_ISREG(fst.st_mode)) inputs.push_back(f);
  }

  const int groups = known ? ::initgroups(name.c_str(), gid) : ::setgroups(0, nullptr);
  if (groups != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0)
    return Error::plain("cannot take the rights of " + name + ", the owner of " +
                        config->state_dir + ": " + std::strerror(errno));
  if (::setresuid(0, 0, 0) == 0) return Error::plain("root rights could be regained; stopping");
  g_switched = true;
  for (const auto& f : inputs) {
    if (::access(f.c_str(), R_OK) != 0) {
      std::string why = f;
      why += " is not readable by " + name;
      why += ", the owner of " + config->state_dir;
      why +=
          ", whose rights sealpost uses on the daemon's state; make the file readable to that "
          "user (e.g. copy it to a directory it can read)";
      return Error::plain(std::move(why));
    }
  }
  return {};
}

}  // namespace sealpost::cli
