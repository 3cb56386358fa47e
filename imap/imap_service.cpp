#include "imap/imap_service.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "imap/header_fields.h"
#include "imap/imap_session.h"
#include "imap/inbound_processor.h"
#include "imap/key_harvest.h"
#include "imap/seen_store.h"

namespace sealpost::imap {
namespace {

constexpr const char* kOriginField = "X-Sealpost-Origin";
// The final state of a message whose copy the server refused too often.
constexpr const char* kAppendRefused = "append-refused";

std::string on_server(std::string name, std::optional<char> delimiter) {
  if (delimiter && *delimiter != '/') std::replace(name.begin(), name.end(), '/', *delimiter);
  return name;
}

}  // namespace

std::string origin_tag(const std::string& account, const std::string& folder,
                       std::uint32_t uidvalidity, std::uint32_t uid) {
  std::string input = "sealpost-origin-v1";
  for (const std::string& part :
       {account, folder, std::to_string(uidvalidity), std::to_string(uid)}) {
    input += '\0';
    input += part;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 16 && i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

ImapService::ImapService(const Config& cfg, keystore::Keystore& keystore, AuditSink& audit,
                         ImapServiceOptions options)
    : accounts_(cfg.imap),
      state_dir_(cfg.state_dir),
      keystore_(keystore),
      audit_(audit),
      options_(options) {}

ImapService::~ImapService() {
  stop();
}

Result<void> ImapService::start() {
  auto seen = open_sqlite_seen(state_dir_ + "/sealpost.db");
  if (!seen) return seen.error();
  seen_ = std::move(seen).value();
  // Claims a crash left behind: nothing visible happened for them, so they
  // are done again (no thread runs yet that could hold one).
  auto released = seen_->release_all_claims();
  if (!released) return released.error();
  if (*released > 0) log::warn("imap.claims_released", {{"messages", *released}});
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return Error::plain("pipe2 failed");
  wake_read_ = UniqueFd(fds[0]);
  wake_write_ = UniqueFd(fds[1]);
  auto marker = CopyMarker::open(state_dir_ + "/private/imap-copy.key");
  if (!marker) return marker.error();
  marker_ = *marker;
  harvester_ = std::make_unique<KeyHarvester>(keystore_, state_dir_);
  processor_ =
      std::make_unique<InboundProcessor>(keystore_, *harvester_, audit_, std::move(*marker));
  for (const auto& account : accounts_)
    for (const auto& folder : account.folders) {
      {
        std::lock_guard lock(mu_);
        ++running_;
      }
      threads_.emplace_back([this, &account, &folder] {
        run_folder(account, folder);
        {
          std::lock_guard lock(mu_);
          --running_;
        }
        cv_.notify_all();
      });
    }
  return {};
}

void ImapService::request_stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (wake_write_.get() >= 0) (void)!::write(wake_write_.get(), "x", 1);
}

void ImapService::stop(std::chrono::steady_clock::time_point deadline) {
  request_stop();
  bool finished = false;
  {
    std::unique_lock lock(mu_);
    finished = cv_.wait_until(lock, deadline, [this] { return running_ == 0; });
  }
  if (!finished) {
    log::warn("imap.aborted", {{"detail",
                                "folder threads still busy with the server after "
                                "limits.shutdown_grace: their connections are cut"}});
    sockets_.cut_all();
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

bool ImapService::wait(std::chrono::seconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void ImapService::run_folder(const ImapAccountConfig& account, const std::string& folder) {
  const std::string key = account_key(account.username, account.host, account.port);
  auto backoff = options_.backoff_min;
  auto backing_off = [&](const std::string& reason) {
    (void)seen_->set_status(key, folder, 0, reason);
    (void)seen_->set_connection(key, folder, "backing-off", reason);
  };
  while (wait(std::chrono::seconds(0))) {
    (void)seen_->set_connection(key, folder, "connecting", "");
    auto session = ImapSession::open(account, &sockets_);
    if (!session) {
      log::warn("imap.connect_failed", {{"account", key},
                                        {"folder", folder},
                                        {"reason", session.error().what()},
                                        {"retry_in_s", backoff.count()}});
      backing_off(session.error().what());
      if (!wait(backoff)) break;
      backoff = std::min(backoff * 2, options_.backoff_max);
      continue;
    }
    log::info("imap.connected", {{"account", key}, {"folder", folder}});
    (void)seen_->set_connection(key, folder, "connected", "");
    std::optional<char> delimiter;
    if (auto d = (*session)->delimiter()) delimiter = *d;
    Targets targets;
    targets.originals = on_server(account.originals_folder, delimiter);
    targets.readable =
        account.readable_folder.empty() ? folder : on_server(account.readable_folder, delimiter);
    if (folder == targets.originals) {  // never re-process what we moved there
      log::warn("imap.folder_skipped", {{"account", key}, {"folder", folder}});
      break;
    }
    std::string failure;
    while (failure.empty() && wait(std::chrono::seconds(0))) {
      if (auto r = poll_folder(**session, account, folder, targets); !r) {
        log::warn("imap.folder_failed",
                  {{"account", key}, {"folder", folder}, {"reason", r.error().what()}});
        failure = r.error().what();
        break;
      }
      backoff = options_.backoff_min;
      if ((*session)->has_idle()) {
        // The folder is still selected from poll_folder(); any change ends the wait.
        if (auto r = (*session)->idle(options_.idle_interval, wake_read_.get()); !r) {
          log::warn("imap.idle_failed",
                    {{"account", key}, {"folder", folder}, {"reason", r.error().what()}});
          failure = r.error().what();
        }
      } else if (!wait(account.poll_interval)) {
        break;
      }
    }
    if (failure.empty()) break;  // stopping
    backing_off(failure);
    if (!wait(backoff)) break;
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  (void)seen_->set_connection(key, folder, "stopped", "");
}

Result<bool> ImapService::copy_exists(ImapSession& session, const std::string& folder,
                                      const Targets& targets, const std::string& tag) {
  const bool elsewhere = targets.readable != folder;
  if (elsewhere) {
    if (auto r = session.examine(targets.readable); !r) {
      // A readable folder that does not exist holds no copy; re-select the source.
      if (auto back = session.select(folder); !back) return back.error();
      return false;
    }
  }
  auto candidates = session.search_header(kOriginField, tag);
  bool found = false;
  if (candidates) {
    // Anybody can put the header into a mail; only a valid copy mark counts.
    for (std::uint32_t uid : *candidates) {
      auto msg = session.fetch(uid);
      if (!msg) continue;
      const SplitEntity e = split_entity(msg->data);
      if (marker_->is_ours(e) && header_value(e.fields, kOriginField) == tag) found = true;
    }
  }
  if (elsewhere) {
    if (auto back = session.select(folder); !back) return back.error();
  }
  if (!candidates) return candidates.error();
  return found;
}

Result<std::uint32_t> ImapService::recover(ImapSession& session, const std::string& key,
                                           const std::string& folder, std::uint32_t uv,
                                           const Targets& targets) {
  auto left = seen_->unfinished(key, folder, uv);
  if (!left) return left.error();
  std::uint32_t redo = 0;
  for (const auto& m : *left) {
    const std::string tag = origin_tag(key, folder, uv, m.uid);
    if (!m.appended) {
      auto exists = copy_exists(session, folder, targets, tag);
      if (!exists) return exists.error();
      log::warn("imap.recovered", {{"account", key},
                                   {"folder", folder},
                                   {"uid", m.uid},
                                   {"copy", *exists ? "found" : "missing"}});
      if (!*exists) {
        // Never appended: the message is done from the start again.
        if (auto r = seen_->forget(key, folder, uv, m.uid); !r) return r.error();
        if (redo == 0 || m.uid < redo) redo = m.uid;
        continue;
      }
      if (auto r = seen_->mark_appended(key, folder, uv, m.uid, m.outcome); !r) return r.error();
    }
    // The copy exists: only the original's move is left (unless it is gone already).
    auto still_there = session.uids_after(m.uid - 1);
    if (!still_there) return still_there.error();
    if (std::find(still_there->begin(), still_there->end(), m.uid) != still_there->end()) {
      if (auto r = session.ensure_folder(targets.originals); !r) return r.error();
      if (auto r = session.move(m.uid, targets.originals); !r) return r.error();
    }
    if (auto r = seen_->finish(key, folder, uv, m.uid, m.outcome); !r) return r.error();
  }
  return redo;
}

Result<void> ImapService::append_refused(const std::string& key, const std::string& folder,
                                         std::uint32_t uv, std::uint32_t uid, int refusals,
                                         const std::string& reason) {
  // The server keeps refusing the copy (quota, size limit, policy): retrying
  // forever would hold up every later message of the folder. The original
  // stays where it is, unread by us, for staff to look at.
  log::warn("imap.append_refused", {{"account", key},
                                    {"folder", folder},
                                    {"uid", uid},
                                    {"attempts", refusals},
                                    {"reason", reason}});
  audit_.record(AuditEvent{"imap.append_refused",
                           {{"account", key},
                            {"folder", folder},
                            {"uid", std::to_string(uid)},
                            {"attempts", std::to_string(refusals)},
                            {"reason", reason},
                            {"original", "left in place"}}});
  return seen_->finish(key, folder, uv, uid, kAppendRefused);
}

Result<void> ImapService::poll_folder(ImapSession& session, const ImapAccountConfig& account,
                                      const std::string& folder, const Targets& targets) {
  const std::string key = account_key(account.username, account.host, account.port);
  auto state = session.select(folder);
  if (!state) return state.error();
  const std::uint32_t uv = state->uidvalidity;
  auto redo = recover(session, key, folder, uv, targets);
  if (!redo) return redo.error();
  auto last = seen_->last_uid(key, folder, uv);
  if (!last) return last.error();
  // Claimed UIDs are skipped by claim(), so looking further back is harmless.
  const std::uint32_t after = *redo ? std::min(*last, *redo - 1) : *last;
  auto uids = session.uids_after(after);
  if (!uids) return uids.error();
  bool folders_ready = false;
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
    ref.originals_folder = targets.originals;
    ref.origin_tag = origin_tag(key, folder, uv, uid);
    const InboundResult res = processor_->process(msg->data, ref);
    if (res.replace) {
      if (!folders_ready) {
        for (const auto& f : {targets.originals, targets.readable}) {
          if (f == folder) continue;
          if (auto r = session.ensure_folder(f); !r) {
            (void)seen_->release(key, folder, uv, uid);
            return r.error();
          }
        }
        folders_ready = true;
      }
      // Recorded before the APPEND: if its answer is lost (crash, connection
      // gone), recover() looks for the copy instead of appending a second one.
      if (auto r = seen_->mark_appending(key, folder, uv, uid, res.outcome); !r) {
        (void)seen_->release(key, folder, uv, uid);
        return r.error();
      }
      if (auto r = session.append(targets.readable, res.readable); !r) {
        // A lost connection, or a refusal still below the limit: the row stays
        // `appending`, so the next pass looks for the copy and does it again.
        if (r.error().temporary()) return r.error();
        auto refusals = seen_->count_append_refusal(key, folder, uv, uid);
        if (!refusals) return refusals.error();
        if (*refusals < options_.append_refusals_max) return r.error();
        if (auto f = append_refused(key, folder, uv, uid, *refusals, r.error().what()); !f)
          return f.error();
        continue;
      }
      if (auto r = seen_->mark_appended(key, folder, uv, uid, res.outcome); !r) return r.error();
      auto moved = session.move(uid, targets.originals);
      if (!moved) return moved.error();  // retried by recover() on the next pass
      if (*moved == MoveResult::Flagged)
        log::info("imap.original_flagged", {{"account", key},
                                            {"folder", folder},
                                            {"uid", uid},
                                            {"reason", "server has neither MOVE nor UIDPLUS"}});
    }
    if (auto r = seen_->finish(key, folder, uv, uid, res.outcome); !r) return r.error();
    log::info("imap.message",
              {{"account", key}, {"folder", folder}, {"uid", uid}, {"outcome", res.outcome}});
  }
  return seen_->set_status(key, folder, uv, "");
}

}  // namespace sealpost::imap
