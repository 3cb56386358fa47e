// FileSpool: the Spool on local disk below <state_dir>/spool/ (layout in
// spool_paths.h, record format in envelope_codec.h).
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

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "relay/spool/spool.h"
#include "relay/spool/spool_paths.h"

namespace sealpost::spool {

class FileSpool final : public Spool {
 public:
  // Creates the directories (mode 0700) if needed.
  static Result<std::unique_ptr<FileSpool>> open(const std::filesystem::path& state_dir);

  Result<std::unique_ptr<Writer>> begin() override;
  Result<SpoolEnvelope> load_envelope(const std::string& id) override;
  Result<std::string> data_path(const std::string& id) override;
  Result<std::string> load_data(const std::string& id) override;
  Result<void> update(const SpoolEnvelope& envelope) override;
  Result<void> remove(const std::string& id) override;
  std::vector<std::string> list() override;

  // Locked read-modify-write of one envelope (the CLI's `queue flush`).
  // `change` returns false when nothing needs writing.
  Result<void> modify(const std::string& id, const std::function<bool(SpoolEnvelope&)>& change);

  const SpoolPaths& paths() const { return paths_; }

 private:
  explicit FileSpool(const std::filesystem::path& state_dir) : paths_(state_dir) {}
  // Moves a message's files to corrupt/ and logs why; never deletes them.
  void quarantine(const std::string& id, const std::string& why);
  void sweep_stale_files();

  SpoolPaths paths_;
};

}  // namespace sealpost::spool
