// FileSpool: the Spool on local disk below <state_dir>/spool/ (layout in
// spool_paths.h, record format in envelope_codec.h). Every file is encrypted at
// rest (sealed_file.h) with the keyring's current key; old keys only read.
//
// Crash safety: data is fsynced, moved into queue/ (still invisible), then the
// envelope is written to a temp file, fsynced and renamed into place, and the
// directory is fsynced. A crash at any point leaves either no visible message
// or a complete one. Orphaned data (crash between the two renames) is moved to
// corrupt/ by list() once it is an hour old.
//
// Concurrency: sealpostd and the CLI may work on the same message. Envelope
// rewrites and removal hold a per-message flock (message_lock.h); readers need
// no lock because every envelope replacement is an atomic rename.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "relay/spool/sealed_file.h"
#include "relay/spool/spool.h"
#include "relay/spool/spool_keyring.h"
#include "relay/spool/spool_paths.h"

namespace sealpost::spool {

class FileSpool final : public Spool {
 public:
  // Creates the directories (mode 0700) if needed.
  static Result<std::unique_ptr<FileSpool>> open(const std::filesystem::path& state_dir,
                                                 SpoolKeyring keys);
  // With the keys sealpost.yaml names (queue.spool_key, queue.spool_old_keys;
  // search order in spool_keyring.h). The daemon may create the default key.
  static Result<std::unique_ptr<FileSpool>> open(const std::filesystem::path& state_dir,
                                                 const QueueConfig& queue,
                                                 KeyUser user = KeyUser::Daemon);
  // Default keys (<state_dir>/spool.key, created if missing): tests and tools.
  static Result<std::unique_ptr<FileSpool>> open(const std::filesystem::path& state_dir);

  ~FileSpool() override;
  Result<std::unique_ptr<Writer>> begin() override;
  Result<SpoolEnvelope> load_envelope(const std::string& id) override;
  // The path of the *encrypted* data file (callers use it to check existence);
  // read the content with load_data() or open_data().
  Result<std::string> data_path(const std::string& id) override;
  Result<std::string> load_data(const std::string& id) override;
  // Up to memory_limit() bytes are read into memory; larger messages become a
  // SealedFileSource that decrypts one record at a time.
  Result<Body> load_body(const std::string& id) override;
  Result<void> update(const SpoolEnvelope& envelope) override;
  Result<void> remove(const std::string& id) override;
  void sync_removals() override;
  std::vector<std::string> list() override;

  // Locked read-modify-write of one envelope (the CLI's `queue flush`).
  // `change` returns false when nothing needs writing.
  Result<void> modify(const std::string& id,
                      const std::function<bool(SpoolEnvelope&)>& change) override;

  // Streams a message's data record by record (bounded memory for big messages).
  Result<SealedReader> open_data(const std::string& id);

  // Queue files still sealed with an old key (rotation: old keys can go at 0).
  std::size_t old_key_files();

  const SpoolPaths& paths() const { return paths_; }

  // How much of one message delivery may hold in memory (limits.message_memory),
  // and where bigger ones spill while they are sealed: incoming/, never scanned
  // for delivery, on the same file system as the spool.
  void set_memory_limit(std::uint64_t bytes) { memory_limit_ = bytes; }
  std::uint64_t memory_limit() const { return memory_limit_; }
  SpillSettings spill_settings() const {
    return SpillSettings{paths_.incoming, static_cast<std::size_t>(memory_limit_)};
  }

 private:
  FileSpool(const std::filesystem::path& state_dir, SpoolKeyring keys)
      : paths_(state_dir), keys_(std::make_shared<const SpoolKeyring>(std::move(keys))) {}
  // Moves a message's files to corrupt/ and logs why; never deletes them.
  void quarantine(const std::string& id, const std::string& why);
  // What to do after a failed open: quarantine only files that are corrupt.
  void on_open_failure(const std::string& id, OpenFailure why, const Error& error);
  Result<std::string> seal_envelope(const SpoolEnvelope& env) const;
  void sweep_stale_files();

  SpoolPaths paths_;
  std::shared_ptr<const SpoolKeyring> keys_;
  std::atomic<long> logged_old_key_files_{-1};
  std::atomic<std::uint64_t> memory_limit_{8ull << 20};
  std::atomic<std::int64_t> last_removal_sync_{0};  // steady_clock ns
  std::atomic<bool> removal_unsynced_{false};       // a removal waits for a directory sync
};

}  // namespace sealpost::spool
