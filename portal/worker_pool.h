// A fixed set of threads for the portal's slow requests (SMS command, SMTP
// submit, argon2id), so the Asio threads keep serving pages while they run.
// Bounded twice: at most `max_queued` jobs wait, and one client key (an
// address, IPv6 per /64) has at most `per_key` jobs queued or running, so
// one client cannot occupy every worker.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sealpost::portal {

class WorkerPool {
 public:
  WorkerPool(unsigned threads, std::size_t max_queued, unsigned per_key);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  enum class Submit { Ok, Full, KeyBusy };
  Submit submit(const std::string& key, std::function<void()> job);
  // Lets running jobs finish, drops queued ones, joins the threads.
  void stop();

 private:
  struct Job {
    std::string key;
    std::function<void()> run;
  };
  void work();

  const std::size_t max_queued_;
  const unsigned per_key_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::map<std::string, unsigned> per_key_load_;  // queued + running
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sealpost::portal
