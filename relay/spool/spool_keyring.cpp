#include "relay/spool/spool_keyring.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "common/log.h"

namespace sealpost::spool {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCredentialName = "spool-key";
constexpr std::string_view kOldCredentialPrefix = "spool-old-key";
constexpr const char* kDaemonCredentials = "/run/credentials/sealpostd.service";
constexpr const char* kDaemonCredential = "/run/credentials/sealpostd.service/spool-key";
// The packaged unit's LoadCredential=spool-key:/etc/sealpost/spool.key source.
constexpr const char* kPackagedKey = "/etc/sealpost/spool.key";

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
  if (user == KeyUser::Cli) {
    if (present(kPackagedKey)) return read_spool_key_file(kPackagedKey);
    return Error::plain("no spool key: set queue.spool_key, or start sealpostd once (it creates " +
                        fallback.string() + ")");
  }
  auto created = create_spool_key_file(fallback);
  if (!created && present(fallback)) return read_spool_key_file(fallback);  // lost a race
  if (created) log::info("spool.key_created", {{"path", fallback.string()}});
  return created;
}

// Whether `file` lies below `dir` (both resolved, so symlinks do not hide it).
bool inside(const fs::path& file, const fs::path& dir) {
  std::error_code ec;
  const auto f = fs::weakly_canonical(file, ec);
  if (ec) return false;
  const auto d = fs::weakly_canonical(dir, ec);
  if (ec) return false;
  const auto rel = f.lexically_relative(d);
  return !rel.empty() && *rel.begin() != "..";
}

// Old keys handed over as systemd credentials named spool-old-key*.
Result<void> add_old_credentials(const fs::path& creds, std::vector<SpoolKey>& old) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(creds, ec)) {
    if (e.path().filename().string().rfind(kOldCredentialPrefix, 0) != 0) continue;
    auto k = read_spool_key_file(e.path());
    if (!k) return k.error();
    old.push_back(std::move(k).value());
  }
  return {};
}

// An install that ran before the key moved to a credential (or to
// queue.spool_key) left <state_dir>/spool.key behind, and the mail queued then
// is sealed with it: keep it as an old key so that mail is still delivered.
Result<void> add_state_dir_key(const SpoolKey& current, const fs::path& state_dir,
                               std::vector<SpoolKey>& old) {
  const fs::path legacy = state_dir / "spool.key";
  if (!present(legacy)) return {};
  auto k = read_spool_key_file(legacy);
  if (!k) return k.error();  // a damaged key file is the admin's to look at, not to skip
  if (k->id() == current.id()) return {};  // it is the current key
  for (const auto& o : old)
    if (o.id() == k->id()) return {};
  log::warn("spool.old_key_in_state_dir",
            {{"path", legacy.string()},
             {"detail",
              "an earlier install's spool key is still in state_dir; it is used to read mail "
              "queued under it. Delete it once `sealpost queue list` shows no message left "
              "from before the key change"}});
  old.push_back(std::move(k).value());
  return {};
}

struct Preloaded {
  SpoolKeySettings settings;
  fs::path state_dir;
  SpoolKeyring ring;
};

std::optional<Preloaded>& preloaded() {
  static std::optional<Preloaded> p;  // the CLI is single-threaded
  return p;
}

bool same(const SpoolKeySettings& a, const SpoolKeySettings& b) {
  return a.key_file == b.key_file && a.old_key_files == b.old_key_files;
}

}  // namespace

Result<SpoolKeyring> SpoolKeyring::load(const SpoolKeySettings& settings, const fs::path& state_dir,
                                        KeyUser user) {
  if (user == KeyUser::Cli && preloaded() && same(preloaded()->settings, settings) &&
      preloaded()->state_dir == state_dir)
    return preloaded()->ring;
  auto current = current_key(settings, state_dir, user);
  if (!current) return current.error();
  std::vector<SpoolKey> old;
  for (const auto& path : settings.old_key_files) {
    auto k = read_spool_key_file(path);
    if (!k) return k.error();
    old.push_back(std::move(k).value());
  }
  if (const auto creds = credentials_dir(); !creds.empty()) {
    if (auto r = add_old_credentials(creds, old); !r) return r.error();
  } else if (user == KeyUser::Cli && present(kDaemonCredentials)) {
    if (auto r = add_old_credentials(kDaemonCredentials, old); !r) return r.error();
  }
  if (auto r = add_state_dir_key(*current, state_dir, old); !r) return r.error();
  // The point of the key is that a copy of state_dir (a backup, a stolen disk)
  // holds no mail in clear; a key stored in it undoes that. Said at every start.
  if (user == KeyUser::Daemon && inside(current->source(), state_dir))
    log::warn("spool.key_in_state_dir",
              {{"path", current->source()},
               {"detail",
                "the spool key is stored inside state_dir, so any backup or copy of state_dir "
                "holds the key next to the encrypted queue and queued mail is readable from "
                "it; keep the key outside (LoadCredential=spool-key:/etc/sealpost/spool.key, "
                "see sealpostd(8))"}});
  return SpoolKeyring(std::move(current).value(), std::move(old));
}

void SpoolKeyring::preload_for_cli(const SpoolKeySettings& settings, const fs::path& state_dir) {
  auto ring = load(settings, state_dir, KeyUser::Cli);
  if (ring) preloaded() = Preloaded{settings, state_dir, std::move(ring).value()};
}

const SpoolKey* SpoolKeyring::find(const KeyId& id) const {
  if (current_.id() == id) return &current_;
  for (const auto& k : old_)
    if (k.id() == id) return &k;
  return nullptr;
}

}  // namespace sealpost::spool
