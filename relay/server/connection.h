// One client connection: runs the sans-IO SmtpSession over a TCP socket
// (plain, after STARTTLS, or implicit TLS) as a C++20 coroutine on its own
// strand. Enforces the idle and DATA deadlines, hands blocking steps to the
// worker pools and answers a draining shutdown with 421.
#pragma once

#include <utility>
// (Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.)
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "relay/server/server_state.h"
#include "relay/server/user_authenticator.h"
#include "relay/smtp/session.h"

namespace sealpost::server {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using tcp = boost::asio::ip::tcp;
  using Clock = std::chrono::steady_clock;

  // The caller already reserved the connection slot for `client`.
  Connection(std::shared_ptr<ServerState> state, ClientSocket socket, ListenerConfig listener,
             std::string client, ServerState::Snapshot snapshot);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts serving on the connection's strand; the connection keeps itself
  // alive (self_) until its coroutine ends.
  static void spawn(const std::shared_ptr<Connection>& conn);
  Strand executor() { return timer_.get_executor(); }

  // Thread-safe: both post to the connection's strand.
  void drain();        // 421 4.3.2 as soon as no DATA is in flight
  void force_close();  // grace period over

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> handle(smtp::SessionOutput out);
  boost::asio::awaitable<bool> write_all(const std::string& data);
  boost::asio::awaitable<std::size_t> read_some(boost::system::error_code& ec);
  boost::asio::awaitable<bool> tls_handshake();
  boost::asio::awaitable<void> run_blocking_step();

  void arm_deadline(Clock::time_point when);
  void disarm_deadline();
  Clock::time_point read_deadline() const;
  ClientSocket::lowest_layer_type& lowest();
  void cancel_io();
  void close_socket();

  std::shared_ptr<Connection> self_;  // set while run() is active
  std::shared_ptr<ServerState> state_;
  ServerState::Snapshot snapshot_;  // config, users and TLS as of accept
  ListenerConfig listener_;
  std::string client_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;

  ClientSocket socket_;
  // Wraps socket_ by reference once TLS starts (the socket stays put).
  std::unique_ptr<boost::asio::ssl::stream<ClientSocket&>> tls_;
  ConnectionTimer timer_;
  std::uint64_t timer_generation_ = 0;

  UserAuthenticator authenticator_;
  smtp::SmtpSession session_;

  std::optional<Clock::time_point> data_started_;
  // When we last finished answering (or the TLS handshake ended): outside DATA
  // the next command line as a whole must arrive within idle_timeout of it, so
  // a client dripping one byte per read cannot hold the slot (slowloris).
  Clock::time_point last_answer_ = Clock::now();
  bool reading_ = false;  // a read is pending (the only state drain may cancel)
  bool in_data_ = false;  // mirror of session_.in_data(), readable from the strand
  bool timed_out_ = false;
  bool draining_ = false;
  bool force_closed_ = false;
  Clock::time_point started_ = Clock::now();
  std::array<char, 32 * 1024> buffer_;
};

}  // namespace sealpost::server
