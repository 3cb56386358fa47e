#include "relay/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace sealpost {
namespace {

// glibc has no capset wrapper and libcap would be one more dependency for
// two calls.
Result<void> set_caps(std::uint32_t mask) {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[2]{};
  data[0].effective = mask;
  data[0].permitted = mask;
  if (syscall(SYS_capset, &header, data) != 0)
    return Error::plain(std::string("capset: ") + std::strerror(errno));
  return {};
}

}  // namespace

Result<void> become_user(const std::string& user, const std::string& state_dir) {
  errno = 0;
  const passwd* pw = ::getpwnam(user.c_str());
  if (!pw) return Error::plain("--user: no such user '" + user + "'");
  if (pw->pw_uid == 0) return Error::plain("--user: refusing to run as root");
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;

  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return Error::plain("state_dir " + state_dir + ": " + ec.message());
  // Only the top directory: what is below was created by this user before.
  if (::chown(state_dir.c_str(), uid, gid) != 0)
    return Error::plain("chown " + state_dir + ": " + std::strerror(errno));

  if (::prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0)
    return Error::plain(std::string("prctl(KEEPCAPS): ") + std::strerror(errno));
  if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
    return Error::plain(std::string("switching to ") + user + ": " + std::strerror(errno));
  if (::setuid(0) == 0) return Error::plain("privileges could be regained; refusing to run");
  ::prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
  return set_caps(1u << CAP_NET_BIND_SERVICE);
}

Result<void> drop_all_capabilities() {
  if (::geteuid() == 0) return {};  // still root (no --user): nothing to drop here
  return set_caps(0);
}

}  // namespace sealpost
