#include "relay/spool/spool_keyring.h"

#include <unistd.h>

#include <cstdlib>

#include "common/log.h"

namespace sealpost::spool {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCredentialName = "spool-key";
constexpr std::string_view kOldCredentialPrefix = "spool-old-key";
constexpr const char* kDaemonCredential = "/run/credentials/sealpostd.service/spool-key";

fs::path credentials_dir() {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  return dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::path();
}

bool present(const fs::path& p) {
  return !p.empty() && ::access(p.c_str(), F_OK) == 0;
}

Result<SpoolKey> current_key(const SpoolKeySettings& s, const fs::path& state_dir, KeyUser user) {
  if (!s.key_file.empty()) return read_spool_key_file(s.key_file);
  if (const auto creds = credentials_dir(); present(creds / kCredentialName))
    return read_spool_key_file(creds / kCredentialName);
  if (user == KeyUser::Cli && present(kDaemonCredential))
    return read_spool_key_file(kDaemonCredential);
  const fs::path fallback = state_dir / "spool.key";
  if (present(fallback)) return read_spool_key_file(fallback);
  if (user == KeyUser::Cli)
    return Error::plain("no spool key: set queue.spool_key, or start sealpostd once (it creates " +
                        fallback.string() + ")");
  auto created = create_spool_key_file(fallback);
  if (!created && present(fallback)) return read_spool_key_file(fallback);  // lost a race
  if (created)
    log::warn("spool.key_created",
              {{"path", fallback.string()},
               {"detail", "spool key kept in state_dir; a root-only key file is safer"}});
  return created;
}

}  // namespace

Result<SpoolKeyring> SpoolKeyring::load(const SpoolKeySettings& settings, const fs::path& state_dir,
                                        KeyUser user) {
  auto current = current_key(settings, state_dir, user);
  if (!current) return current.error();
  std::vector<SpoolKey> old;
  for (const auto& path : settings.old_key_files) {
    auto k = read_spool_key_file(path);
    if (!k) return k.error();
    old.push_back(std::move(k).value());
  }
  if (const auto creds = credentials_dir(); !creds.empty()) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(creds, ec)) {
      if (e.path().filename().string().rfind(kOldCredentialPrefix, 0) != 0) continue;
      auto k = read_spool_key_file(e.path());
      if (!k) return k.error();
      old.push_back(std::move(k).value());
    }
  }
  return SpoolKeyring(std::move(current).value(), std::move(old));
}

const SpoolKey* SpoolKeyring::find(const KeyId& id) const {
  if (current_.id() == id) return &current_;
  for (const auto& k : old_)
    if (k.id() == id) return &k;
  return nullptr;
}

}  // namespace sealpost::spool
