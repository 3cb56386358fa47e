#include "relay/queue_watcher.h"

#include <algorithm>
#include <ctime>

namespace sealpost {

QueueSample sample_queue(Spool& spool) {
  QueueSample s;
  for (const auto& id : spool.list()) {
    auto env = spool.load_envelope(id);
    if (!env) continue;  // removed meanwhile (delivered, queue delete)
    ++s.size;
    s.oldest_arrival = std::min(s.oldest_arrival.value_or(env->arrival), env->arrival);
  }
  return s;
}

QueueWatcher::QueueWatcher(Spool& spool, metrics::RelayMetrics& metrics,
                           std::chrono::seconds interval)
    : spool_(spool), metrics_(metrics), interval_(interval) {}

QueueWatcher::~QueueWatcher() {
  stop();
}

void QueueWatcher::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void QueueWatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void QueueWatcher::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    spool_.sync_removals();  // an idle queue's last removals become durable too
    const QueueSample s = sample_queue(spool_);
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    metrics_.queue_size.set(static_cast<double>(s.size));
    metrics_.queue_oldest_seconds.set(
        s.oldest_arrival ? static_cast<double>(std::max<std::int64_t>(0, now - *s.oldest_arrival))
                         : 0.0);
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace sealpost
