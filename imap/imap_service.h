// Runs the IMAP side inside sealpostd: one thread per imap[] account that
// connects, walks each configured folder for new UIDs, hands every message to
// the InboundProcessor and applies the result (APPEND readable copy, MOVE the
// original to Sealpost/Originals). Waits in IDLE when the account has one
// folder and the server offers it, else polls every poll_interval; reconnects with
// exponential backoff after any error; stop() interrupts the waits.
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

struct ImapServiceOptions {
  std::chrono::seconds poll_interval{60};
  // RFC 2177 asks clients to re-issue IDLE within 29 minutes.
  std::chrono::seconds idle_interval{600};
  std::chrono::seconds backoff_min{5};
  std::chrono::seconds backoff_max{300};
  // Where originals go, below the account's hierarchy delimiter (not a config
  // key yet; see docs/imap.md).
  std::string originals_folder = "Sealpost/Originals";
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
