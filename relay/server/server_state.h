// What the listeners and their connections share: the current config and
// users (swapped on reload), TLS contexts, connection counters and the list
// of live connections for a draining shutdown. Internal to relay/server.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "relay/auth/login_throttle.h"
#include "relay/auth/user_directory.h"
#include "relay/spool/spool.h"

namespace sealpost::server {

class Connection;

// A connection's socket and timer carry their strand in their type: no
// type-erased executor (and its heap allocation) per I/O object, and the
// strand can be copied into handlers that run on the worker pools.
using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
using ClientSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Strand>;
using ConnectionTimer =
    boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                      boost::asio::wait_traits<std::chrono::steady_clock>, Strand>;

struct ServerState {
  ServerState(boost::asio::io_context& io_, Spool& spool_, boost::asio::thread_pool& commits_,
              boost::asio::thread_pool& passwords_)
      : io(io_), spool(spool_), commits(commits_), passwords(passwords_) {}

  boost::asio::io_context& io;
  Spool& spool;
  // Blocking work never runs on the network threads. Two pools, so a flood of
  // AUTH attempts (Argon2id, 64 MiB each) cannot delay the fsync of a commit.
  boost::asio::thread_pool& commits;
  boost::asio::thread_pool& passwords;
  std::function<void(const std::string&)> on_queued;
  std::function<void()> on_tls_failure;  // a failed inbound handshake (metrics)
  // Failed logins per client address over all connections; made at start
  // from limits.auth_failures_per_client (a reload keeps the counts).
  std::shared_ptr<auth::LoginThrottle> login_throttle;

  struct Snapshot {
    std::shared_ptr<const Config> config;
    std::shared_ptr<const auth::UserDirectory> users;
    // Per listener address; null when the listener has no TLS.
    std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls;
  };

  Snapshot snapshot() const {
    std::lock_guard lock(mu);
    return current;
  }
  void replace(Snapshot s) {
    std::lock_guard lock(mu);
    current = std::move(s);
  }

  // Connection accounting. try_admit() reserves a slot or says why not;
  // per-client limits count by client_key() (IPv6: the /64), like AUTH failures.
  enum class Admit { Ok, TooManyTotal, TooManyFromClient };
  Admit try_admit(const std::string& client, const LimitsConfig& limits);
  void release(const std::string& client);
  std::size_t active() const { return active_count.load(); }

  void add(const std::shared_ptr<Connection>& c);
  void remove(const Connection* c);
  std::vector<std::shared_ptr<Connection>> connections() const;

  std::atomic<bool> accepting{true};

  // The shutdown grace timer; cancelled early once the last connection is
  // gone, so io.run() can return as soon as the drain is complete.
  void set_grace_timer(std::shared_ptr<boost::asio::steady_timer> timer);

 private:
  mutable std::mutex mu;
  Snapshot current;
  std::map<std::string, unsigned> per_client;
  std::atomic<std::size_t> active_count{0};
  std::map<const Connection*, std::weak_ptr<Connection>> live;
  std::shared_ptr<boost::asio::steady_timer> grace_timer;
  void cancel_grace_timer_locked();
};

}  // namespace sealpost::server
