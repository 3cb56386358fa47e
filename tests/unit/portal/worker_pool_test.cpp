#include "portal/worker_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>

using namespace sealpost::portal;
using Submit = WorkerPool::Submit;

namespace {

// A latch the jobs wait on, so the test controls when they finish.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [this] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

}  // namespace

TEST_CASE("one key gets at most per_key jobs; others still get in") {
  Gate gate;
  std::atomic<int> done{0};
  WorkerPool pool(2, 16, 2);
  auto job = [&] {
    gate.wait();
    ++done;
  };
  CHECK(pool.submit("198.51.100.1", job) == Submit::Ok);
  CHECK(pool.submit("198.51.100.1", job) == Submit::Ok);
  CHECK(pool.submit("198.51.100.1", job) == Submit::KeyBusy);
  CHECK(pool.submit("2001:db8::/64", job) == Submit::Ok);  // queued behind the busy workers
  gate.release();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(done == 3);
  // Finished jobs give their key's budget back.
  std::atomic<int> more{0};
  CHECK(pool.submit("198.51.100.1", [&] { ++more; }) == Submit::Ok);
  CHECK(pool.submit("198.51.100.1", [&] { ++more; }) == Submit::Ok);
  while (more < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(more == 2);
}

TEST_CASE("the queue is bounded and stop drops what still waits") {
  Gate gate;
  std::atomic<int> ran{0};
  WorkerPool pool(1, 2, 10);
  std::atomic<bool> started{false};
  CHECK(pool.submit("a", [&] {
    started = true;
    gate.wait();
  }) == Submit::Ok);
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The only worker is busy: two jobs may wait, the third is refused.
  CHECK(pool.submit("b", [&] { ++ran; }) == Submit::Ok);
  CHECK(pool.submit("b", [&] { ++ran; }) == Submit::Ok);
  CHECK(pool.submit("c", [&] { ++ran; }) == Submit::Full);
  gate.release();
  pool.stop();  // the running job finishes; queued ones may be dropped
  CHECK(pool.submit("d", [&] { ++ran; }) == Submit::Full);
  CHECK(ran <= 2);
}
