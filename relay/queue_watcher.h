// Samples the queue for the metrics: sealpost_queue_size and
// sealpost_queue_oldest_seconds (age of the oldest message by its envelope's
// arrival time). Scanning the spool reads and decrypts every envelope (and
// may set a corrupt one aside), so it runs on its own thread, never on the
// SMTP threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "metrics/relay_metrics.h"
#include "relay/spool/spool.h"

namespace sealpost {

struct QueueSample {
  std::size_t size = 0;
  std::optional<std::int64_t> oldest_arrival;  // unix seconds; none when empty
};

// One scan: every message in the spool (pending, deferred and held alike).
QueueSample sample_queue(Spool& spool);

class QueueWatcher {
 public:
  QueueWatcher(Spool& spool, metrics::RelayMetrics& metrics,
               std::chrono::seconds interval = std::chrono::seconds(15));
  ~QueueWatcher();  // stops and joins
  QueueWatcher(const QueueWatcher&) = delete;
  QueueWatcher& operator=(const QueueWatcher&) = delete;

  void start();  // first scan at once, then every interval
  void stop();

 private:
  void run();

  Spool& spool_;
  metrics::RelayMetrics& metrics_;
  const std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sealpost
