#include "portal/worker_pool.h"

#include "common/log.h"

namespace sealpost::portal {

WorkerPool::WorkerPool(unsigned threads, std::size_t max_queued, unsigned per_key)
    : max_queued_(max_queued), per_key_(per_key) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  stop();
}

WorkerPool::Submit WorkerPool::submit(const std::string& key, std::function<void()> job) {
  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() >= max_queued_) return Submit::Full;
  unsigned& load = per_key_load_[key];
  if (load >= per_key_) return Submit::KeyBusy;
  ++load;
  queue_.push_back(Job{key, std::move(job)});
  cv_.notify_one();
  return Submit::Ok;
}

void WorkerPool::stop() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Dropped jobs are destroyed here, outside the lock: they may own connections.
}

void WorkerPool::work() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      job.run();
    } catch (const std::exception& e) {
      log::error("portal.worker", {{"reason", e.what()}});  // keep the worker and the counts
    }
    job.run = nullptr;  // release what the job captured before taking the lock
    lock.lock();
    if (auto it = per_key_load_.find(job.key); it != per_key_load_.end() && --it->second == 0)
      per_key_load_.erase(it);
  }
}

}  // namespace sealpost::portal
