#include "relay/delivery/delivery_scheduler.h"

#include <algorithm>
#include <ctime>

#include "common/log.h"
#include "relay/delivery/message_attempt.h"

namespace sealpost {
namespace {

std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// Workers re-check the clock at least this often, so a wall-clock jump or a
// reload never strands a deferred message for long.
constexpr std::int64_t kMaxSleepSeconds = 30;

}  // namespace

DeliveryScheduler::DeliveryScheduler(const Config& cfg, Spool& spool, Transformer& transformer,
                                     Transport& transport, AuditSink& audit)
    : spool_(spool), transformer_(transformer), transport_(transport), audit_(audit), cfg_(cfg) {}

DeliveryScheduler::~DeliveryScheduler() {
  stop();
}

void DeliveryScheduler::start() {
  unsigned workers = 1;
  {
    std::lock_guard lk(cfg_mu_);
    workers = std::max(1u, cfg_.queue.workers);
  }
  const auto ids = spool_.list();
  {
    std::lock_guard lk(mu_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
    // Everything found is examined once; recipients not yet due are deferred again.
    for (const auto& id : ids) push_ready_locked(id, false);
  }
  log::info("delivery.start", {{"queued", ids.size()}, {"workers", workers}});
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void DeliveryScheduler::enqueue(const std::string& id) {
  std::lock_guard lk(mu_);
  push_ready_locked(id, false);
  wake_.notify_one();
}

void DeliveryScheduler::flush() {
  // Rescan: the CLI may have changed envelopes, and a message whose attempt
  // failed locally may not be scheduled at all any more.
  const auto ids = spool_.list();
  std::lock_guard lk(mu_);
  for (const auto& id : ids) push_ready_locked(id, true);
  for (const auto& [id, when] : deferred_) push_ready_locked(id, true);
  log::info("delivery.flush", {{"queued", queued_.size()}});
  wake_.notify_all();
}

void DeliveryScheduler::stop() {
  {
    std::lock_guard lk(mu_);
    if (!started_) return;
    stopping_ = true;
    started_ = false;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  log::info("delivery.stop");
}

void DeliveryScheduler::reload(const Config& cfg) {
  {
    std::lock_guard lk(cfg_mu_);
    cfg_ = cfg;
  }
  wake_.notify_all();
}

bool DeliveryScheduler::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return idle_.wait_for(lk, timeout, [this] { return ready_.empty() && in_flight_.empty(); });
}

void DeliveryScheduler::push_ready_locked(const std::string& id, bool force) {
  if (in_flight_.count(id) != 0) {
    again_[id] = again_[id] || force;
    return;
  }
  if (auto d = deferred_.find(id); d != deferred_.end()) {
    auto range = by_time_.equal_range(d->second);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second == id) {
        by_time_.erase(it);
        break;
      }
    deferred_.erase(d);
  }
  auto [it, inserted] = queued_.emplace(id, force);
  if (inserted) {
    ready_.push_back(id);
  } else {
    it->second = it->second || force;
  }
}

void DeliveryScheduler::defer_locked(const std::string& id, std::int64_t when) {
  if (queued_.count(id) != 0) return;  // already due again (enqueued meanwhile)
  deferred_[id] = when;
  by_time_.emplace(when, id);
}

void DeliveryScheduler::promote_due_locked(std::int64_t now) {
  while (!by_time_.empty() && by_time_.begin()->first <= now) {
    const std::string id = by_time_.begin()->second;
    by_time_.erase(by_time_.begin());
    deferred_.erase(id);
    if (queued_.emplace(id, false).second) ready_.push_back(id);
  }
}

void DeliveryScheduler::worker_loop() {
  std::unique_lock lk(mu_);
  while (true) {
    if (stopping_) return;
    promote_due_locked(unix_now());
    if (ready_.empty()) {
      std::int64_t sleep = kMaxSleepSeconds;
      if (!by_time_.empty())
        sleep = std::clamp<std::int64_t>(by_time_.begin()->first - unix_now(), 0, sleep);
      // Wake a little after the due second so the next promote sees it due.
      wake_.wait_for(lk, std::chrono::seconds(sleep) + std::chrono::milliseconds(50));
      continue;
    }
    const std::string id = ready_.front();
    ready_.pop_front();
    const bool force = queued_[id];
    queued_.erase(id);
    in_flight_.insert(id);
    lk.unlock();
    process(id, force);
    lk.lock();
    in_flight_.erase(id);
    if (auto a = again_.find(id); a != again_.end()) {
      const bool again_force = a->second;
      again_.erase(a);
      push_ready_locked(id, again_force);
    }
    if (ready_.empty() && in_flight_.empty()) idle_.notify_all();
  }
}

void DeliveryScheduler::process(const std::string& id, bool force) {
  delivery::AttemptResult result;
  {
    std::unique_lock cl(cfg_mu_);
    delivery::AttemptContext ctx{
        cfg_.queue, cfg_.hostname, cfg_.smarthost.host, spool_, transformer_, transport_, audit_};
    cl.unlock();  // the attempt takes its own copy; reload() may run meanwhile
    result = delivery::attempt_message(ctx, id, force, unix_now());
  }
  std::lock_guard lk(mu_);
  for (const auto& dsn : result.new_ids) push_ready_locked(dsn, false);
  if (result.next == delivery::AttemptResult::Next::RetryAt) defer_locked(id, result.retry_at);
  if (!result.new_ids.empty()) wake_.notify_one();
}

}  // namespace sealpost
