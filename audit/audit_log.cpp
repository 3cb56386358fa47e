#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/audit_line.h"
#include "audit/field_rules.h"
#include "common/durable_file.h"
#include "common/log.h"

namespace sealpost::audit {
namespace {

constexpr std::size_t kTailWindow = 2 * kMaxLineBytes;
// While the disk refuses writes, records queue in memory up to this many;
// beyond it they are dropped (the chain then shows the gap).
constexpr std::size_t kMaxQueuedWhileFailing = 100000;

Error sys_error(const std::string& what, const std::filesystem::path& p) {
  return Error::plain(what + " " + p.string() + ": " + std::strerror(errno));
}

struct Tail {
  std::string last_line;  // empty when the file holds no complete line
};

// Reads the last complete line of a chain file; cuts off a torn final line.
Result<Tail> read_tail(const std::filesystem::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return sys_error("cannot open", file);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("cannot stat", file);
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t window = std::min(size, kTailWindow);
  std::string buf(window, '\0');
  const auto got = ::pread(fd.get(), buf.data(), window, static_cast<off_t>(size - window));
  if (got != static_cast<ssize_t>(window)) return sys_error("cannot read", file);

  if (!buf.empty() && buf.back() != '\n') {
    const std::size_t nl = buf.rfind('\n');
    if (nl == std::string::npos && size > window)
      return Error::plain("audit file " + file.string() + " ends in an over-long torn line");
    const std::size_t keep = nl == std::string::npos ? 0 : nl + 1;
    const auto new_size = static_cast<off_t>(size - window + keep);
    // The torn bytes were never acknowledged to anyone (record() had not returned).
    log::warn("audit.torn_tail", {{"file", file.string()}, {"bytes", buf.size() - keep}});
    if (::ftruncate(fd.get(), new_size) != 0 || ::fsync(fd.get()) != 0)
      return sys_error("cannot truncate torn tail of", file);
    buf.resize(keep);
  }
  Tail tail;
  if (buf.empty()) return tail;
  buf.pop_back();  // the final '\n'
  const std::size_t start = buf.rfind('\n');
  if (start == std::string::npos && size > window)
    return Error::plain("audit file " + file.string() + " has an over-long last line");
  tail.last_line = buf.substr(start == std::string::npos ? 0 : start + 1);
  return tail;
}

}  // namespace

AuditLog::AuditLog(std::filesystem::path dir, UniqueFd lock, AuditLogOptions options)
    : dir_(std::move(dir)), lock_fd_(std::move(lock)), options_(std::move(options)) {
  prev_hash_ = std::string(kGenesisHash);
}

AuditLog::~AuditLog() {
  std::lock_guard lock(mu_);
  if (!pending_.empty()) log::error("audit.unwritten", {{"records", pending_.size()}});
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::filesystem::path& dir,
                                                 AuditLogOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error::plain("cannot create audit directory " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), static_cast<mode_t>(options.dir_mode));
  const auto lock_path = dir / ".lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock) return sys_error("cannot open", lock_path);
  if (::flock(lock.get(), LOCK_EX | (options.wait_for_lock ? 0 : LOCK_NB)) != 0)
    return Error::plain("audit log " + dir.string() + " is in use by another process");

  std::unique_ptr<AuditLog> logp(new AuditLog(dir, std::move(lock), std::move(options)));
  if (auto r = logp->resume_chain(); !r) return r.error();
  if (logp->options_.retention) logp->maybe_prune(day_of(logp->now()));
  return logp;
}

Result<void> AuditLog::resume_chain() {
  auto files = chain_files(dir_);
  // The newest file may be empty (created, then crashed before the first write).
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    auto tail = read_tail(*it);
    if (!tail) return tail.error();
    if (tail->last_line.empty()) continue;
    auto line = decode_line(tail->last_line);
    if (!line)
      return Error::plain("the last audit record in " + it->string() + " is damaged (" +
                          line.error().what() + "); run 'sealpost audit verify'");
    seq_ = done_seq_ = line->seq;
    prev_hash_ = line->hash;
    // A clock that is behind the log after a restart must not file new records
    // under an earlier day than the ones already written.
    if (auto t = parse_time(line->time)) last_time_ = *t;
    break;
  }
  return {};
}

Clock::time_point AuditLog::now() const {
  return options_.clock ? options_.clock() : Clock::now();
}

bool AuditLog::healthy() const {
  std::lock_guard lock(mu_);
  return healthy_;
}

std::uint64_t AuditLog::last_seq() const {
  std::lock_guard lock(mu_);
  return seq_;
}

namespace {

// What callers may put in (docs/audit.md): "checkpoint" anchors verification
// after pruning, so only prune() may write one.
std::pair<std::string, Fields> sanitized(const AuditEvent& event) {
  std::string type = sanitize_type(event.type);
  if (type == "checkpoint") type = "invalid";
  return {std::move(type), sanitize_fields(event.fields)};
}

}  // namespace

void AuditLog::record(const AuditEvent& event) {
  auto [type, fields] = sanitized(event);
  const auto [day, seq] = append(std::move(type), std::move(fields));
  flush_until(seq);
  prune_if_new_day(day);
}

void AuditLog::record_later(const AuditEvent& event) {
  auto [type, fields] = sanitized(event);
  prune_if_new_day(append(std::move(type), std::move(fields)).first);
}

void AuditLog::sync() {
  std::uint64_t last = 0;
  {
    std::lock_guard lock(mu_);
    last = seq_;
  }
  // Also retries what a failed write left queued: a quiet relay must become
  // healthy again once the disk has room, without waiting for a new event.
  flush_until(last, /*retry_failed=*/true);
}

void AuditLog::prune_if_new_day(const std::string& day) {
  bool prune_due = false;
  {
    std::lock_guard lock(mu_);
    prune_due = options_.retention && day != last_prune_day_;
  }
  if (prune_due) maybe_prune(day);
}

std::pair<std::string, std::uint64_t> AuditLog::append(std::string type, Fields fields) {
  std::lock_guard lock(mu_);
  // Never backwards (an NTP step at midnight): days and times stay in chain order.
  const auto t = std::max(now(), last_time_);
  last_time_ = t;
  Line line{++seq_, format_time(t), std::move(type), std::move(fields), prev_hash_, {}};
  std::string text = encode_line(line);
  text += '\n';
  prev_hash_ = line.hash;
  std::string day = day_of(t);
  pending_.push_back(Pending{day, std::move(text), line.seq});
  return {std::move(day), line.seq};
}

void AuditLog::flush_until(std::uint64_t mine, bool retry_failed) {
  std::unique_lock lock(mu_);
  bool retried = false;
  while (done_seq_ < mine || (retry_failed && !retried && !healthy_ && !pending_.empty())) {
    if (flushing_) {
      flushed_.wait(lock);
      continue;
    }
    if (pending_.empty()) break;  // a failed write already gave up on these
    retried = true;
    flushing_ = true;
    std::vector<Pending> batch;
    batch.swap(pending_);
    lock.unlock();
    const std::size_t written = write_batch(batch);
    lock.lock();
    done_seq_ = batch.back().seq;
    healthy_ = written == batch.size();
    if (!healthy_) {
      // Keep order: the unwritten rest goes back in front of anything queued since.
      batch.erase(batch.begin(), batch.begin() + static_cast<long>(written));
      batch.insert(batch.end(), std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.end()));
      pending_.swap(batch);
      if (pending_.size() > kMaxQueuedWhileFailing) {
        const auto excess = pending_.size() - kMaxQueuedWhileFailing;
        log::error("audit.dropped", {{"records", excess}});
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(excess));
      }
    }
    flushing_ = false;
    flushed_.notify_all();
  }
}

std::size_t AuditLog::write_batch(const std::vector<Pending>& batch) {
  // Consecutive records of the same day go out in one write + one fdatasync.
  std::size_t i = 0;
  while (i < batch.size()) {
    std::string bytes;
    std::size_t j = i;
    for (; j < batch.size() && batch[j].day == batch[i].day; ++j) bytes += batch[j].text;
    if (!append_to_day(batch[i].day, bytes)) return i;
    i = j;
  }
  return i;
}

bool AuditLog::append_to_day(const std::string& day, const std::string& bytes) {
  const auto path = dir_ / file_name_for_day(day);
  if (open_day_ != day || !day_fd_) {
    const bool existed = std::filesystem::exists(path);
    day_fd_.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                         static_cast<mode_t>(options_.file_mode)));
    if (!day_fd_) {
      log::error("audit.write_failed", {{"file", path.string()}, {"error", std::strerror(errno)}});
      return false;
    }
    open_day_ = day;
    if (!existed) (void)fsync_dir(dir_);  // the new file's name must survive a crash too
  }
  struct stat st {};
  if (::fstat(day_fd_.get(), &st) != 0) return false;
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(day_fd_.get(), bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  if (off == bytes.size() && ::fdatasync(day_fd_.get()) == 0) return true;
  const int err = errno;
  // Never leave half a batch behind: the retry would append after a torn line.
  if (::ftruncate(day_fd_.get(), st.st_size) != 0) day_fd_.reset();
  log::error("audit.write_failed", {{"file", path.string()}, {"error", std::strerror(err)}});
  return false;
}

void AuditLog::maybe_prune(const std::string& day) {
  {
    std::lock_guard lock(mu_);
    if (last_prune_day_ == day) return;
    last_prune_day_ = day;
  }
  if (auto r = prune(*options_.retention); !r)
    log::error("audit.prune_failed", {{"error", r.error().what()}});
}

Result<std::size_t> AuditLog::prune(std::chrono::days keep) {
  if (keep.count() < 1) return Error::plain("audit retention must be at least one day");
  const std::string cutoff = day_of(now() - keep);
  std::vector<std::filesystem::path> old;
  for (const auto& f : chain_files(dir_))
    if (*day_of_file(f) < cutoff) old.push_back(f);
  if (old.empty()) return std::size_t{0};

  // The anchor: the last record of the newest file that goes away.
  std::string anchor;
  for (auto it = old.rbegin(); it != old.rend() && anchor.empty(); ++it) {
    auto tail = read_tail(*it);
    if (!tail) return tail.error();
    anchor = tail->last_line;
  }
  std::string seq = "0", hash(kGenesisHash);
  if (!anchor.empty()) {
    auto line = decode_line(anchor);
    if (!line) return Error::plain("refusing to prune: damaged record before " + cutoff);
    seq = std::to_string(line->seq);
    hash = line->hash;
  }

  // Written (and synced) before anything is deleted: a crash in between leaves
  // extra old files, which verification accepts, never a gap without an anchor.
  flush_until(append("checkpoint", {{"pruned_before", cutoff},
                                    {"last_pruned_seq", seq},
                                    {"last_pruned_hash", hash},
                                    {"files_removed", std::to_string(old.size())}})
                  .second);
  if (!healthy()) return Error::plain("could not write the checkpoint record; nothing pruned");

  for (const auto& f : old) {
    std::error_code ec;
    std::filesystem::remove(f, ec);
    if (ec) return Error::plain("cannot remove " + f.string() + ": " + ec.message());
  }
  if (auto r = fsync_dir(dir_); !r) return r.error();
  log::info("audit.pruned", {{"files", old.size()}, {"before", cutoff}});
  return old.size();
}

}  // namespace sealpost::audit
