#include "relay/spool/file_spool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "common/durable_file.h"
#include "common/log.h"
#include "common/secure_random.h"
#include "relay/spool/envelope_codec.h"
#include "relay/spool/message_lock.h"
#include "relay/spool/spool_writer.h"

namespace sealpost::spool {
namespace fs = std::filesystem;

namespace {

// A commit moves data into queue/ and writes the envelope within milliseconds;
// data older than this with no envelope is a leftover of a crash.
constexpr auto kOrphanAge = std::chrono::hours(1);
// DATA is bounded by limits.data_timeout (minutes); older temp files are dead.
constexpr auto kStaleIncomingAge = std::chrono::hours(24);
constexpr std::size_t kMaxDataBytes = std::size_t{1} << 30;
// A sealed envelope is the plain one plus one record overhead per 64 KiB.
constexpr std::size_t kMaxSealedEnvelopeBytes =
    kSealedHeaderBytes +
    (kMaxEnvelopeBytes / kSealedRecordBytes + 1) * (kSealedRecordBytes + kSealedRecordOverhead);

Error bad_id(const std::string& id) {
  return Error::plain("invalid queue id '" + id.substr(0, 64) + "'");
}

Error not_found(const std::string& id) {
  return Error::plain("no such message " + id);
}

bool older_than(const fs::directory_entry& e, std::chrono::seconds age) {
  std::error_code ec;
  const auto mtime = e.last_write_time(ec);
  if (ec) return false;
  return fs::file_time_type::clock::now() - mtime > age;
}

Result<void> make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::plain("cannot create " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return {};
}

bool queue_is_empty(const SpoolPaths& paths) {
  std::error_code ec;
  return !fs::exists(paths.queue, ec) || fs::is_empty(paths.queue, ec);
}

}  // namespace

Result<std::unique_ptr<FileSpool>> FileSpool::open(const fs::path& state_dir, SpoolKeyring keys) {
  std::unique_ptr<FileSpool> spool(new FileSpool(state_dir, std::move(keys)));
  for (const auto& dir : {spool->paths_.incoming, spool->paths_.queue, spool->paths_.corrupt})
    if (auto r = make_dir(dir); !r) return r.error();
  return spool;
}

Result<std::unique_ptr<FileSpool>> FileSpool::open(const fs::path& state_dir,
                                                   const QueueConfig& queue, KeyUser user) {
  // The default key lives in state_dir, which may not exist yet on first start.
  // One that exists keeps its mode: the packaged layout (0710, group
  // sealpost-pickup) lets the portal pass through it to pickup/.
  std::error_code ec;
  if (!fs::exists(state_dir, ec))
    if (auto r = make_dir(state_dir); !r) return r.error();
  auto keys =
      SpoolKeyring::load(SpoolKeySettings{queue.spool_key, queue.spool_old_keys}, state_dir, user);
  if (!keys && user == KeyUser::Cli && queue_is_empty(SpoolPaths(state_dir))) {
    // Nothing queued, nothing to read: `queue list` should say so rather than
    // fail on a daemon that never ran. The throwaway key is never stored, and
    // the CLI only rewrites envelopes it could read.
    keys = SpoolKeyring(SpoolKey::from_bytes(random_bytes(kSpoolKeyBytes), "none").value(), {});
  }
  if (!keys) return keys.error();
  if (user == KeyUser::Daemon)
    log::info("spool.keys", {{"current", keys->current().id_hex()},
                             {"source", keys->current().source()},
                             {"old_keys", keys->old_keys().size()}});
  return open(state_dir, std::move(keys).value());
}

Result<std::unique_ptr<FileSpool>> FileSpool::open(const fs::path& state_dir) {
  return open(state_dir, QueueConfig{}, KeyUser::Daemon);
}

Result<std::unique_ptr<Spool::Writer>> FileSpool::begin() {
  return SpoolWriter::create(paths_, keys_);
}

void FileSpool::on_open_failure(const std::string& id, OpenFailure why, const Error& error) {
  if (why == OpenFailure::Corrupt) {
    quarantine(id, error.what());
  } else if (why == OpenFailure::UnknownKey) {
    // Left in place: adding the missing key to queue.spool_old_keys fixes it.
    log::error("spool.unknown_key", {{"id", id}, {"error", error.what()}});
  }
}

Result<std::string> FileSpool::seal_envelope(const SpoolEnvelope& env) const {
  return seal_all(keys_->current(), SealedKind::Envelope, encode_envelope(env));
}

Result<SpoolEnvelope> FileSpool::load_envelope(const std::string& id) {
  if (!valid_queue_id(id)) return bad_id(id);
  const auto path = paths_.envelope(id);
  if (::access(path.c_str(), F_OK) != 0) return not_found(id);
  OpenFailure why = OpenFailure::None;
  auto bytes = open_all(path, SealedKind::Envelope, *keys_, kMaxEnvelopeBytes, &why);
  if (!bytes) {
    on_open_failure(id, why, bytes.error());
    return bytes.error();
  }
  auto env = decode_envelope(*bytes);
  if (!env) {
    quarantine(id, env.error().what());
    return env.error();
  }
  if (env->id != id) {
    quarantine(id, "envelope names another queue id");
    return Error::plain("corrupt envelope: id mismatch");
  }
  return env;
}

Result<std::string> FileSpool::data_path(const std::string& id) {
  if (!valid_queue_id(id)) return bad_id(id);
  auto path = paths_.data(id);
  if (::access(path.c_str(), R_OK) != 0) return not_found(id);
  return path.string();
}

Result<std::string> FileSpool::load_data(const std::string& id) {
  if (!valid_queue_id(id)) return bad_id(id);
  OpenFailure why = OpenFailure::None;
  // All records are authenticated before anything is returned: never half a message.
  auto data = open_all(paths_.data(id), SealedKind::Data, *keys_, kMaxDataBytes, &why);
  if (!data) on_open_failure(id, why, data.error());
  return data;
}

Result<Body> FileSpool::load_body(const std::string& id) {
  if (!valid_queue_id(id)) return bad_id(id);
  const auto path = paths_.data(id);
  std::error_code ec;
  const auto on_disk = std::filesystem::file_size(path, ec);
  // The file is a little larger than its plaintext; close enough to choose.
  if (!ec && on_disk <= memory_limit_) {
    auto data = load_data(id);
    if (!data) return data.error();
    return Body(std::move(data.value()));
  }
  OpenFailure why = OpenFailure::None;
  auto src = SealedFileSource::open(path, keys_, &why);
  if (!src) {
    on_open_failure(id, why, src.error());
    return src.error();
  }
  if (auto v = (*src)->verify_all(&why); !v) {
    on_open_failure(id, why, v.error());
    return v.error();
  }
  return Body(std::shared_ptr<const BodySource>(std::move(src.value())));
}

Result<SealedReader> FileSpool::open_data(const std::string& id) {
  if (!valid_queue_id(id)) return bad_id(id);
  OpenFailure why = OpenFailure::None;
  auto reader = SealedReader::open(paths_.data(id), SealedKind::Data, *keys_, &why);
  if (!reader) on_open_failure(id, why, reader.error());
  return reader;
}

Result<void> FileSpool::modify(const std::string& id,
                               const std::function<bool(SpoolEnvelope&)>& change) {
  if (!valid_queue_id(id)) return bad_id(id);
  auto lock = MessageLock::acquire(paths_.data(id));
  if (!lock) return not_found(id);
  // The holder before us may have removed the message; never resurrect it.
  auto env = load_envelope(id);
  if (!env) return env.error();
  if (!change(*env)) return {};
  auto sealed = seal_envelope(*env);
  if (!sealed) return sealed.error();
  return replace_file_durable(paths_.envelope(id), *sealed);
}

Result<void> FileSpool::update(const SpoolEnvelope& envelope) {
  if (!valid_queue_id(envelope.id)) return bad_id(envelope.id);
  auto lock = MessageLock::acquire(paths_.data(envelope.id));
  if (!lock) return not_found(envelope.id);
  if (::access(paths_.envelope(envelope.id).c_str(), F_OK) != 0) return not_found(envelope.id);
  // Always the current key: after a rotation, envelopes move to it as they change.
  auto sealed = seal_envelope(envelope);
  if (!sealed) return sealed.error();
  return write_file_durable(paths_.envelope(envelope.id), *sealed);
}

Result<void> FileSpool::remove(const std::string& id) {
  if (!valid_queue_id(id)) return bad_id(id);
  auto lock = MessageLock::acquire(paths_.data(id));
  if (!lock) return not_found(id);
  // Envelope first: without it the message is invisible, so a crash between the
  // two unlinks leaves only an orphan that list() tidies up.
  if (::unlink(paths_.envelope(id).c_str()) != 0) {
    if (errno == ENOENT) return not_found(id);
    return io_error(errno, "unlink", paths_.envelope(id));
  }
  if (::unlink(paths_.data(id).c_str()) != 0 && errno != ENOENT)
    return io_error(errno, "unlink", paths_.data(id));
  // A removal needs no fsync of its own: a crashed process cannot undo an
  // unlink, and a removal undone by a power loss only sends the message again
  // (at least once, docs/queue.md). So the directory is synced here at most
  // once a second, by every commit in between, and by sync_removals() (the
  // queue watcher) when the queue falls idle.
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = last_removal_sync_.load();
  if (now - last >= std::chrono::nanoseconds(std::chrono::seconds(1)).count() &&
      last_removal_sync_.compare_exchange_strong(last, now)) {
    removal_unsynced_ = false;
    return fsync_dir(paths_.queue);
  }
  removal_unsynced_ = true;
  return {};
}

void FileSpool::sync_removals() {
  if (removal_unsynced_.exchange(false)) {
    if (auto r = fsync_dir(paths_.queue); !r) {
      removal_unsynced_ = true;
      log::warn("spool.sync_failed", {{"error", r.error().what()}});
    }
  }
}

FileSpool::~FileSpool() {
  if (removal_unsynced_) (void)fsync_dir(paths_.queue);
}

void FileSpool::quarantine(const std::string& id, const std::string& why) {
  for (const auto& src : {paths_.envelope(id), paths_.data(id)}) {
    const auto dst = paths_.corrupt / src.filename();
    if (::rename(src.c_str(), dst.c_str()) != 0 && errno != ENOENT)
      log::error("spool.quarantine_failed", {{"id", id}, {"error", std::strerror(errno)}});
  }
  (void)fsync_dir(paths_.queue);
  (void)fsync_dir(paths_.corrupt);
  log::error("spool.corrupt", {{"id", id}, {"reason", why}, {"moved_to", paths_.corrupt.string()}});
}

void FileSpool::sweep_stale_files() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_.incoming, ec))
    if (older_than(e, kStaleIncomingAge)) fs::remove(e.path(), ec);
  for (const auto& e : fs::directory_iterator(paths_.queue, ec)) {
    const std::string name = e.path().filename().string();
    if (name.find(".env.tmp.") != std::string::npos && older_than(e, kOrphanAge)) {
      fs::remove(e.path(), ec);  // an envelope rewrite that never reached its rename
    } else if (e.path().extension() == ".msg" && older_than(e, kOrphanAge)) {
      const std::string id = e.path().stem().string();
      if (::access(paths_.envelope(id).c_str(), F_OK) != 0)
        quarantine(id, "data without envelope (interrupted commit or removal)");
    }
  }
}

std::vector<std::string> FileSpool::list() {
  sweep_stale_files();
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_.queue, ec)) {
    if (e.path().extension() != ".env") continue;
    const std::string id = e.path().stem().string();
    if (!valid_queue_id(id)) {
      quarantine(id, "unexpected file name in queue");
      continue;
    }
    if (::access(paths_.data(id).c_str(), F_OK) != 0) {
      // A concurrent remove() unlinks the envelope first; only a lone envelope is corrupt.
      if (::access(paths_.envelope(id).c_str(), F_OK) != 0) continue;
      quarantine(id, "envelope without data");
      continue;
    }
    if (load_envelope(id)) ids.push_back(id);  // load_envelope quarantines what fails
  }
  if (ec)
    log::error("spool.scan_failed", {{"dir", paths_.queue.string()}, {"error", ec.message()}});
  std::sort(ids.begin(), ids.end());  // ids start with a timestamp: oldest first
  const auto old = static_cast<long>(old_key_files());
  if (logged_old_key_files_.exchange(old) != old && (old > 0 || !keys_->old_keys().empty()))
    log::info("spool.old_key_files",
              {{"count", std::to_string(old)},
               {"detail", old == 0 ? "no queue file needs an old key any more"
                                   : "queue files still sealed with an old key"}});
  return ids;
}

std::size_t FileSpool::old_key_files() {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_.queue, ec)) {
    const auto ext = e.path().extension();
    if (ext != ".env" && ext != ".msg") continue;
    auto id = sealed_key_id(e.path());
    if (id && *id != keys_->current().id()) ++n;
  }
  return n;
}

}  // namespace sealpost::spool
