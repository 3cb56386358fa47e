#include "imap/imap_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "imap/imap_session.h"
#include "imap/inbound_processor.h"
#include "imap/key_harvest.h"
#include "imap/seen_store.h"

namespace sealpost::imap {

ImapService::ImapService(const Config& cfg, keystore::Keystore& keystore, AuditSink& audit,
                         ImapServiceOptions options)
    : accounts_(cfg.imap),
      state_dir_(cfg.state_dir),
      keystore_(keystore),
      audit_(audit),
      options_(std::move(options)) {}

ImapService::~ImapService() {
  stop();
}

Result<void> ImapService::start() {
  auto seen = open_sqlite_seen(state_dir_ + "/sealpost.db");
  if (!seen) return seen.error();
  seen_ = std::move(seen).value();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return Error::plain("pipe2 failed");
  wake_read_ = UniqueFd(fds[0]);
  wake_write_ = UniqueFd(fds[1]);
  auto marker = CopyMarker::open(state_dir_ + "/private/imap-copy.key");
  if (!marker) return marker.error();
  harvester_ = std::make_unique<KeyHarvester>(keystore_, state_dir_);
  processor_ =
      std::make_unique<InboundProcessor>(keystore_, *harvester_, audit_, std::move(*marker));
  for (const auto& account : accounts_)
    threads_.emplace_back([this, &account] { run_account(account); });
  return {};
}

void ImapService::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (wake_write_.get() >= 0) (void)!::write(wake_write_.get(), "x", 1);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

bool ImapService::wait(std::chrono::seconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void ImapService::run_account(const ImapAccountConfig& account) {
  const std::string key = account_key(account.username, account.host, account.port);
  auto backoff = options_.backoff_min;
  auto record_error = [&](const std::string& reason) {
    for (const auto& folder : account.folders) (void)seen_->set_status(key, folder, 0, reason);
  };
  while (wait(std::chrono::seconds(0))) {
    auto session = ImapSession::open(account);
    if (!session) {
      log::warn(
          "imap.connect_failed",
          {{"account", key}, {"reason", session.error().what()}, {"retry_in_s", backoff.count()}});
      record_error(session.error().what());
      if (!wait(backoff)) return;
      backoff = std::min(backoff * 2, options_.backoff_max);
      continue;
    }
    log::info("imap.connected", {{"account", key}});
    std::string originals = account.originals_folder;
    if (auto delim = (*session)->delimiter(); delim && *delim != '/')
      std::replace(originals.begin(), originals.end(), '/', *delim);
    bool healthy = true;
    while (healthy && wait(std::chrono::seconds(0))) {
      for (const auto& folder : account.folders) {
        if (folder == originals) continue;  // never re-process what we moved there
        if (auto r = poll_folder(**session, account, folder, originals); !r) {
          log::warn("imap.folder_failed",
                    {{"account", key}, {"folder", folder}, {"reason", r.error().what()}});
          (void)seen_->set_status(key, folder, 0, r.error().what());
          healthy = false;
          break;
        }
      }
      if (!healthy) break;
      backoff = options_.backoff_min;
      const bool one_folder = account.folders.size() == 1 && account.folders[0] != originals;
      if (one_folder && (*session)->has_idle()) {
        // The folder is still selected from poll_folder(); any change ends the wait.
        if (auto r = (*session)->idle(options_.idle_interval, wake_read_.get()); !r) {
          log::warn("imap.idle_failed", {{"account", key}, {"reason", r.error().what()}});
          healthy = false;
        }
      } else if (!wait(account.poll_interval)) {
        return;
      }
    }
    if (!wait(backoff)) return;
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

Result<void> ImapService::poll_folder(ImapSession& session, const ImapAccountConfig& account,
                                      const std::string& folder, const std::string& originals) {
  const std::string key = account_key(account.username, account.host, account.port);
  auto state = session.select(folder);
  if (!state) return state.error();
  const std::uint32_t uv = state->uidvalidity;
  auto last = seen_->last_uid(key, folder, uv);
  if (!last) return last.error();
  auto uids = session.uids_after(*last);
  if (!uids) return uids.error();
  bool originals_ready = false;
  for (std::uint32_t uid : *uids) {
    if (!wait(std::chrono::seconds(0))) return {};
    auto claimed = seen_->claim(key, folder, uv, uid);
    if (!claimed) return claimed.error();
    if (!*claimed) continue;
    auto msg = session.fetch(uid);
    if (!msg) {
      (void)seen_->release(key, folder, uv, uid);
      if (!msg.error().temporary()) continue;  // vanished: nothing to do
      return msg.error();
    }
    MessageRef ref;
    ref.account = key;
    ref.folder = folder;
    ref.uid = uid;
    ref.harvest = HarvestRules{account.harvest, account.key_change};
    ref.originals_folder = originals;
    const InboundResult res = processor_->process(msg->data, ref);
    if (res.replace) {
      if (!originals_ready) {
        if (auto r = session.ensure_folder(originals); !r) {
          (void)seen_->release(key, folder, uv, uid);
          return r.error();
        }
        originals_ready = true;
      }
      if (auto r = session.append(folder, res.readable); !r) {
        (void)seen_->release(key, folder, uv, uid);  // nothing visible yet: retry later
        return r.error();
      }
      // From here on the readable copy exists: the claim stays, so a failed
      // move never leads to a second copy (the original just stays put).
      if (auto r = session.move(uid, originals); !r) {
        (void)seen_->finish(key, folder, uv, uid, "decrypted-move-failed");
        return r.error();
      }
    }
    (void)seen_->finish(key, folder, uv, uid, res.outcome);
    log::info("imap.message",
              {{"account", key}, {"folder", folder}, {"uid", uid}, {"outcome", res.outcome}});
  }
  return seen_->set_status(key, folder, uv, "");
}

}  // namespace sealpost::imap
