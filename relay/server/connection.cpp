#include "relay/server/connection.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/log.h"

namespace sealpost::server {

namespace asio = boost::asio;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;

namespace {

constexpr std::chrono::seconds kMaxHandshake{60};

smtp::SessionSettings session_settings(const Config& cfg, const ListenerConfig& l,
                                       const std::string& client, bool has_tls) {
  smtp::SessionSettings s;
  s.hostname = cfg.hostname.empty() ? asio::ip::host_name() : cfg.hostname;
  s.mode = l.mode;
  s.tls_offered = has_tls && !l.implicit_tls;
  s.tls_active = l.implicit_tls;
  s.max_message_size = cfg.limits.max_message_size;
  s.max_recipients = cfg.limits.max_recipients;
  s.max_auth_failures = cfg.limits.max_auth_failures;
  s.listener = l.address;
  s.client_addr = client;
  return s;
}

}  // namespace

Connection::Connection(std::shared_ptr<ServerState> state, ClientSocket socket,
                       ListenerConfig listener, std::string client, ServerState::Snapshot snapshot)
    : state_(std::move(state)),
      snapshot_(std::move(snapshot)),
      listener_(std::move(listener)),
      client_(std::move(client)),
      tls_ctx_(snapshot_.tls.count(listener_.address) ? snapshot_.tls.at(listener_.address)
                                                      : nullptr),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      authenticator_(snapshot_.users, state_->login_throttle),
      session_(session_settings(*snapshot_.config, listener_, client_, tls_ctx_ != nullptr),
               state_->spool, &authenticator_) {}

Connection::~Connection() {
  state_->release(client_);
  state_->remove(this);
}

// ---- deadlines --------------------------------------------------------------

void Connection::arm_deadline(Clock::time_point when) {
  const std::uint64_t generation = ++timer_generation_;
  timed_out_ = false;  // refers to the operation armed now
  timer_.expires_at(when);
  timer_.async_wait([weak = weak_from_this(), generation](const error_code& ec) {
    auto self = weak.lock();
    if (!self || ec || generation != self->timer_generation_) return;
    self->timed_out_ = true;
    self->cancel_io();
  });
}

void Connection::disarm_deadline() {
  ++timer_generation_;
  timer_.cancel();
}

Connection::Clock::time_point Connection::read_deadline() const {
  const auto& limits = snapshot_.config->limits;
  Clock::time_point when = Clock::now() + limits.idle_timeout;
  // The whole DATA phase is bounded too, so a slow drip cannot hold a slot.
  if (data_started_) return std::min(when, *data_started_ + limits.data_timeout);
  // Outside DATA the deadline is per command line, not per read (Postfix's
  // smtpd_per_record_deadline): it counts from our last answer.
  return std::min(when, last_answer_ + limits.idle_timeout);
}

ClientSocket::lowest_layer_type& Connection::lowest() {
  return socket_.lowest_layer();
}

void Connection::cancel_io() {
  error_code ignored;
  lowest().cancel(ignored);
}

void Connection::close_socket() {
  error_code ignored;
  lowest().shutdown(ClientSocket::shutdown_both, ignored);
  lowest().close(ignored);
}

void Connection::drain() {
  asio::post(executor(), [self = shared_from_this()] {
    self->draining_ = true;
    if (self->reading_ && !self->in_data_) self->cancel_io();
  });
}

void Connection::force_close() {
  asio::post(executor(), [self = shared_from_this()] {
    self->force_closed_ = true;
    self->close_socket();
  });
}

// ---- I/O --------------------------------------------------------------------

asio::awaitable<std::size_t> Connection::read_some(error_code& ec) {
  auto buf = asio::buffer(buffer_);
  if (tls_) co_return co_await tls_->async_read_some(buf, redirect_error(use_awaitable, ec));
  co_return co_await socket_.async_read_some(buf, redirect_error(use_awaitable, ec));
}

asio::awaitable<bool> Connection::write_all(const std::string& data) {
  arm_deadline(Clock::now() + snapshot_.config->limits.idle_timeout);
  error_code ec;
  if (tls_)
    co_await asio::async_write(*tls_, asio::buffer(data), redirect_error(use_awaitable, ec));
  else
    co_await asio::async_write(socket_, asio::buffer(data), redirect_error(use_awaitable, ec));
  disarm_deadline();
  last_answer_ = Clock::now();
  co_return !ec;
}

asio::awaitable<bool> Connection::tls_handshake() {
  if (!tls_ctx_) co_return false;
  tls_ = std::make_unique<asio::ssl::stream<ClientSocket&>>(socket_, *tls_ctx_);
  arm_deadline(Clock::now() +
               std::min<Clock::duration>(snapshot_.config->limits.idle_timeout, kMaxHandshake));
  error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server, redirect_error(use_awaitable, ec));
  disarm_deadline();
  last_answer_ = Clock::now();
  if (ec) {
    log::info("smtp.tls_failed", {{"client", client_}, {"reason", ec.message()}});
    if (state_->on_tls_failure) state_->on_tls_failure();
    co_return false;
  }
  log::debug("smtp.tls", {{"client", client_},
                          {"version", SSL_get_version(tls_->native_handle())},
                          {"cipher", SSL_get_cipher_name(tls_->native_handle())}});
  co_return true;
}

// Runs the session's blocking step on a worker pool while this coroutine is
// suspended, then continues on the connection's strand.
asio::awaitable<void> Connection::run_blocking_step() {
  asio::thread_pool& pool = session_.blocked_on_password() ? state_->passwords : state_->commits;
  // A named initiation whose captures are trivially destructible: GCC 12 can
  // destroy temporaries of a co_await operand twice, which with a captured
  // executor (a shared_ptr inside) frees the strand early.
  auto initiation = [this, &pool](auto handler) {
    asio::post(pool, [this, handler = std::move(handler)]() mutable {
      session_.run_blocking_step();
      asio::post(executor(), std::move(handler));
    });
  };
  co_await asio::async_initiate<decltype(use_awaitable), void()>(initiation, use_awaitable);
}

asio::awaitable<bool> Connection::handle(smtp::SessionOutput out) {
  for (;;) {
    // (No co_await inside && or ?: here: GCC 12 miscompiles those.)
    if (!out.replies.empty()) {
      const bool written = co_await write_all(out.replies);
      if (!written) co_return false;
    }
    if (!out.queued_id.empty() && state_->on_queued) state_->on_queued(out.queued_id);
    if (out.close) co_return false;
    if (out.start_tls) {
      const bool handshaken = co_await tls_handshake();
      if (!handshaken) co_return false;
      session_.tls_started();
      co_return true;
    }
    if (!out.blocked) co_return true;
    co_await run_blocking_step();
    out = session_.resume();
  }
}

void Connection::spawn(const std::shared_ptr<Connection>& conn) {
  conn->self_ = conn;
  asio::co_spawn(conn->executor(), conn->run(), asio::detached);
}

asio::awaitable<void> Connection::run() {
  log::info("smtp.connect", {{"client", client_}, {"listener", listener_.address}});
  bool ok = true;
  if (listener_.implicit_tls) ok = co_await tls_handshake();
  if (ok) {
    smtp::SessionOutput greeting = session_.greeting();
    ok = co_await handle(std::move(greeting));
  }
  while (ok) {
    in_data_ = session_.in_data();
    if (in_data_ && !data_started_) data_started_ = Clock::now();
    if (!in_data_) data_started_.reset();
    if (draining_ && !in_data_) {
      const std::string bye = session_.shutting_down().replies;  // a named value across co_await
      co_await write_all(bye);
      break;
    }
    if (data_started_ && Clock::now() >= *data_started_ + snapshot_.config->limits.data_timeout) {
      const std::string bye = session_.timeout().replies;
      co_await write_all(bye);
      break;
    }
    arm_deadline(read_deadline());
    error_code ec;
    reading_ = true;
    const std::size_t n = co_await read_some(ec);
    reading_ = false;
    disarm_deadline();
    if (ec) {
      if (force_closed_) break;
      if (timed_out_) {
        log::info("smtp.timeout", {{"client", client_}, {"in_data", in_data_ ? "yes" : "no"}});
        const std::string bye = session_.timeout().replies;
        co_await write_all(bye);
        break;
      }
      if (ec == asio::error::operation_aborted && draining_) continue;  // answered above
      break;                                                            // EOF or reset
    }
    smtp::SessionOutput out = session_.feed(std::string_view(buffer_.data(), n));
    ok = co_await handle(std::move(out));
  }
  close_socket();
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count();
  log::info("smtp.disconnect", {{"client", client_}, {"seconds", secs}});
  // This code may run inside the completion handler of an operation on our
  // own socket (the coroutine resumes synchronously there). Destroying the
  // socket now would pull it from under that handler, so the last reference
  // is dropped from a fresh handler instead.
  asio::post(executor(), [last_reference = std::move(self_)] {});
}

}  // namespace sealpost::server
