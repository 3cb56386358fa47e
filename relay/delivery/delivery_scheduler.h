// DeliveryScheduler: decides when each spooled message is attempted. Fresh
// messages go out at once; deferred ones wait for their next_attempt (a timer
// wakes the workers); flush() retries everything now. Each message is handled
// by one worker at a time; the attempt itself lives in message_attempt.h.
//
// The daemon owns it:  start() after the listeners are up, enqueue(id) after
// each commit, flush() on SIGUSR1 (`sealpost queue flush`), reload(cfg) on
// SIGHUP (retry schedule, max age, hostname; the worker count needs a restart),
// stop() on SIGTERM (in-flight attempts finish, nothing new starts).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_sink.h"
#include "config/config.h"
#include "relay/delivery/transform.h"
#include "relay/delivery/transport.h"
#include "relay/spool/spool.h"

namespace sealpost {

class DeliveryScheduler {
 public:
  DeliveryScheduler(const Config& cfg, Spool& spool, Transformer& transformer, Transport& transport,
                    AuditSink& audit);
  ~DeliveryScheduler();
  DeliveryScheduler(const DeliveryScheduler&) = delete;
  DeliveryScheduler& operator=(const DeliveryScheduler&) = delete;

  void start();                         // scan spool (resume unfinished recipients), start workers
  void enqueue(const std::string& id);  // a freshly committed message: deliver now
  void flush();                         // retry all deferred recipients now (rescans the spool)
  void stop();                          // finish in-flight attempts, join workers
  void reload(const Config& cfg);

  // Waits until nothing is ready or in flight (deferred messages do not count).
  // For tests and orderly shutdown; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  void worker_loop();
  void process(const std::string& id, bool force);
  // Callers hold mu_.
  void push_ready_locked(const std::string& id, bool force);
  void defer_locked(const std::string& id, std::int64_t when);
  void promote_due_locked(std::int64_t now);

  Spool& spool_;
  Transformer& transformer_;
  Transport& transport_;
  AuditSink& audit_;

  std::mutex cfg_mu_;
  Config cfg_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::string> ready_;
  std::map<std::string, bool> queued_;                // ready ids -> forced (flush)
  std::multimap<std::int64_t, std::string> by_time_;  // deferred: next attempt -> id
  std::map<std::string, std::int64_t> deferred_;      // deferred: id -> next attempt
  std::set<std::string> in_flight_;
  std::map<std::string, bool> again_;  // enqueued while in flight: run once more afterwards
  bool stopping_ = false;
  bool started_ = false;
  std::vector<std::thread> workers_;
};

// The libetpan SMTP client for cfg (smarthost_transport.h has the details).
std::unique_ptr<Transport> make_smtp_transport(const SmarthostConfig& cfg,
                                               const std::string& helo_name);

}  // namespace sealpost
