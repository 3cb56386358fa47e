// Runs the IMAP side inside sealpostd: one thread per imap[] account that
// connects, walks each configured folder for new UIDs, hands every message to
// the InboundProcessor and applies the result (APPEND readable copy, MOVE the
// original to the account's originals_folder). Waits in IDLE when the account
// has one folder and the server offers it, else polls every imap[].poll_interval;
// reconnects with exponential backoff after any error; stop() interrupts the waits.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_sink.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "config/config.h"
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
};

class ImapService {
 public:
  ImapService(const Config& cfg, keystore::Keystore& keystore, AuditSink& audit,
              ImapServiceOptions options = {});
  ~ImapService();
  Result<void> start();
  void stop();  // idempotent; joins the account threads

 private:
  void run_account(const ImapAccountConfig& account);
  Result<void> poll_folder(ImapSession& session, const ImapAccountConfig& account,
                           const std::string& folder, const std::string& originals);
  bool wait(std::chrono::seconds d);  // false when stopping

  std::vector<ImapAccountConfig> accounts_;
  std::string state_dir_;
  keystore::Keystore& keystore_;
  AuditSink& audit_;
  ImapServiceOptions options_;
  std::unique_ptr<SeenStore> seen_;
  std::unique_ptr<KeyHarvester> harvester_;
  std::unique_ptr<InboundProcessor> processor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  UniqueFd wake_read_;  // becomes readable on stop(): ends an IDLE wait
  UniqueFd wake_write_;
  std::vector<std::thread> threads_;
};

}  // namespace sealpost::imap
