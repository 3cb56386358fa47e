// Runs the IMAP side inside sealpostd: one thread and one connection per
// configured folder of each imap[] account. Each walks its folder for new
// UIDs, hands every message to the InboundProcessor and applies the result
// (APPEND the readable copy to imap[].readable_folder or the same folder,
// MOVE the original to imap[].originals_folder). It waits in IDLE when the
// server offers it (one connection per folder, so every folder can), else
// polls every imap[].poll_interval; it reconnects with exponential backoff
// after any error; stop() interrupts the waits. Crash safety: see
// seen_store.h for the states a message goes through.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_sink.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "config/config.h"
#include "imap/copy_marker.h"
#include "imap/socket_registry.h"
#include "keystore/keystore.h"

namespace sealpost::imap {

class SeenStore;
class ImapSession;
class InboundProcessor;
class KeyHarvester;

// Timing that is not configurable (poll_interval and originals_folder are
// per account: ImapAccountConfig).
struct ImapServiceOptions {
  // RFC 2177 asks clients to re-issue IDLE within 29 minutes.
  std::chrono::seconds idle_interval{600};
  std::chrono::seconds backoff_min{5};
  std::chrono::seconds backoff_max{300};
  // A readable copy whose APPEND the server refused (tagged NO/BAD) this many
  // times is given up: state append-refused, audited, the original left in place.
  int append_refusals_max = 3;
};

// The X-Sealpost-Origin tag of the readable copy made from this original:
// opaque (a hash), so it names no account or folder in the mailbox.
std::string origin_tag(const std::string& account, const std::string& folder,
                       std::uint32_t uidvalidity, std::uint32_t uid);

class ImapService {
 public:
  ImapService(const Config& cfg, keystore::Keystore& keystore, AuditSink& audit,
              ImapServiceOptions options = {});
  ~ImapService();
  Result<void> start();
  // Tells the folder threads to stop after what they are doing; returns at once.
  void request_stop();
  // Stops and joins the folder threads (idempotent). A thread still inside a
  // server command at `deadline` (a server that stopped answering) has its
  // connection cut (shutdown(2)), so this returns soon after the deadline
  // instead of after the 120 s command timeout; only a connect in progress
  // can take up to its 30 s timeout longer.
  void stop(std::chrono::steady_clock::time_point deadline);
  void stop() { stop(std::chrono::steady_clock::now() + std::chrono::seconds(30)); }

 private:
  // A folder's names on the server ('/' in the configuration replaced by the
  // server's hierarchy delimiter).
  struct Targets {
    std::string originals;
    std::string readable;
  };
  void run_folder(const ImapAccountConfig& account, const std::string& folder);
  Result<void> poll_folder(ImapSession& session, const ImapAccountConfig& account,
                           const std::string& folder, const Targets& targets);
  // Messages a crash or a lost connection left between APPEND and MOVE.
  // Returns the lowest UID that has to be processed again (0 = none).
  Result<std::uint32_t> recover(ImapSession& session, const std::string& key,
                                const std::string& folder, std::uint32_t uidvalidity,
                                const Targets& targets);
  // Whether the readable copy tagged `tag` is in `targets.readable` already
  // (found by X-Sealpost-Origin, confirmed by its copy mark).
  Result<bool> copy_exists(ImapSession& session, const std::string& folder, const Targets& targets,
                           const std::string& tag);
  // Gives a message up after its copy was refused `refusals` times.
  Result<void> append_refused(const std::string& key, const std::string& folder, std::uint32_t uv,
                              std::uint32_t uid, int refusals, const std::string& reason);
  bool wait(std::chrono::seconds d);  // false when stopping

  std::vector<ImapAccountConfig> accounts_;
  std::string state_dir_;
  keystore::Keystore& keystore_;
  AuditSink& audit_;
  ImapServiceOptions options_;
  std::unique_ptr<SeenStore> seen_;
  std::unique_ptr<KeyHarvester> harvester_;
  std::unique_ptr<InboundProcessor> processor_;
  std::optional<CopyMarker> marker_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int running_ = 0;         // folder threads not yet finished (under mu_)
  SocketRegistry sockets_;  // their connections, cut when stop() runs out of time
  UniqueFd wake_read_;      // becomes readable on stop(): ends an IDLE wait
  UniqueFd wake_write_;
  std::vector<std::thread> threads_;
};

}  // namespace sealpost::imap
