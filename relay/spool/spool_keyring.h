// The keys a spool works with: the current key seals every file written now;
// old keys (from before a rotation) only open files that name them.
//
// Where the current key comes from, first match wins:
//   1. queue.spool_key in sealpost.yaml (a path);
//   2. $CREDENTIALS_DIRECTORY/spool-key (systemd LoadCredential=spool-key:...);
//   3. for the admin CLI only: /run/credentials/sealpostd.service/spool-key,
//      so `sealpost queue ...` run as root reads the running daemon's credential;
//   4. <state_dir>/spool.key, which sealpostd creates (mode 0600) on first start
//      so the spool is never written in clear. (A backup of state_dir then holds
//      the key too: sealpostd warns at every start, see docs/queue.md.)
//   5. for the admin CLI only: /etc/sealpost/spool.key, the file the packaged
//      unit hands to sealpostd as its credential, for when the daemon is stopped.
// Old keys: every path in queue.spool_old_keys and every
// $CREDENTIALS_DIRECTORY/spool-old-key* credential (for the CLI also those of
// the running daemon), and <state_dir>/spool.key when the current key comes
// from elsewhere (left by an install from before the credential setup).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "relay/spool/spool_key.h"

namespace sealpost::spool {

struct SpoolKeySettings {
  std::string key_file;                    // "" = credential or <state_dir>/spool.key
  std::vector<std::string> old_key_files;  // keys from before a rotation
};

// Who is asking: the daemon may create the default key; the CLI never does
// (a key it made up could not open anything the daemon wrote).
enum class KeyUser { Daemon, Cli };

class SpoolKeyring {
 public:
  static Result<SpoolKeyring> load(const SpoolKeySettings& settings,
                                   const std::filesystem::path& state_dir, KeyUser user);
  // The admin CLI started as root reads its key sources here, before it takes
  // the rights of the state dir's owner (cli/main.cpp): some are root-only
  // (the daemon's credential, /etc/sealpost/spool.key). A later load() for
  // KeyUser::Cli with the same settings returns what was read. Nothing is kept
  // when no key is found; load() then reports why.
  static void preload_for_cli(const SpoolKeySettings& settings,
                              const std::filesystem::path& state_dir);
  // For tests and tools that hold the keys in memory already.
  SpoolKeyring(SpoolKey current, std::vector<SpoolKey> old)
      : current_(std::move(current)), old_(std::move(old)) {}

  const SpoolKey& current() const { return current_; }
  const std::vector<SpoolKey>& old_keys() const { return old_; }
  // The key with this id, or nullptr (a file sealed by a key we do not have).
  const SpoolKey* find(const KeyId& id) const;

 private:
  SpoolKey current_;
  std::vector<SpoolKey> old_;
};

}  // namespace sealpost::spool
