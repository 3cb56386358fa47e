// The append-only, hash-chained audit log under <state_dir>/audit/ (AuditSink).
//
// Durability: record() returns only after the line is written and fdatasync'ed.
// Concurrent callers share one fdatasync (group commit): whoever finds no flush
// in progress writes everything queued so far, the rest wait for it. One
// process writes a chain at a time (flock on <dir>/.lock); readers need no lock.
//
// Retention: prune() deletes whole day files older than the retention period,
// after first appending a "checkpoint" record that carries the seq and hash of
// the last pruned event, so `sealpost audit verify` can still anchor the chain.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_line.h"
#include "audit/audit_sink.h"
#include "audit/chain_files.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace sealpost::audit {

struct AuditLogOptions {
  // Keep events this long; prune once at open and at each new day. None: keep all.
  std::optional<std::chrono::days> retention;
  // Permissions of the directory and day files. The portal's chain uses 0750/0640
  // so that the relay user (its group) can verify and report on it.
  unsigned dir_mode = 0700;
  unsigned file_mode = 0600;
  // Wait for another writer to let go instead of failing at once: the admin
  // command's chain is written by short-lived `sealpost` runs that may overlap.
  bool wait_for_lock = false;
  // Where "now" comes from (tests move time); defaults to the system clock.
  std::function<Clock::time_point()> clock;
};

class AuditLog final : public AuditSink {
 public:
  // Creates `dir` (options.dir_mode) if needed, takes the writer lock and continues the
  // chain after its last record. A torn last line (crash mid-write, never
  // acknowledged) is cut off; a damaged last record is an error (fail closed).
  static Result<std::unique_ptr<AuditLog>> open(const std::filesystem::path& dir,
                                                AuditLogOptions options = {});
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void record(const AuditEvent& event) override;
  void record_later(const AuditEvent& event) override;
  void sync() override;

  // Removes day files older than `keep` (at least one day), after a checkpoint
  // record. Returns how many files were removed.
  Result<std::size_t> prune(std::chrono::days keep);

  // False after a write failed (disk full, I/O error) until a later write
  // succeeds; queued records are retried, in order, with the next write.
  bool healthy() const override;
  std::uint64_t last_seq() const;

 private:
  struct Pending {
    std::string day;
    std::string text;  // one line including '\n'
    std::uint64_t seq;
  };

  AuditLog(std::filesystem::path dir, UniqueFd lock, AuditLogOptions options);
  Result<void> resume_chain();
  // Assigns seq + prev and queues the line; returns its day file and seq.
  std::pair<std::string, std::uint64_t> append(std::string type, Fields fields);
  // Returns once every line up to `seq` is written and synced (or the write
  // failed). Whoever finds no flush running writes all that is queued.
  // Writes queued records up to `seq`; `retry_failed`: also once more what an
  // earlier failed write left queued.
  void flush_until(std::uint64_t seq, bool retry_failed = false);
  void prune_if_new_day(const std::string& day);
  // Returns how many records of `batch` are durably written (all, unless a write failed).
  std::size_t write_batch(const std::vector<Pending>& batch);
  bool append_to_day(const std::string& day, const std::string& bytes);
  Clock::time_point now() const;
  void maybe_prune(const std::string& day);

  const std::filesystem::path dir_;
  UniqueFd lock_fd_;
  AuditLogOptions options_;

  mutable std::mutex mu_;
  std::condition_variable flushed_;
  std::uint64_t seq_ = 0;         // last assigned
  std::string prev_hash_;         // hash of the last assigned line
  std::uint64_t done_seq_ = 0;    // last seq whose write attempt has finished
  std::vector<Pending> pending_;  // assigned, not yet written
  bool flushing_ = false;
  bool healthy_ = true;
  std::string last_prune_day_;
  Clock::time_point last_time_{};

  // Touched only by the thread that holds `flushing_`.
  std::string open_day_;
  UniqueFd day_fd_;
};

}  // namespace sealpost::audit
