#include "relay/server/smtp_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/log.h"
#include "relay/server/connection.h"
#include "relay/server/server_state.h"
#include "relay/server/tls_context.h"

namespace sealpost::server {

namespace asio = boost::asio;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;
using tcp = asio::ip::tcp;

struct Listener {
  ListenerConfig config;
  tcp::acceptor acceptor;
  Listener(ListenerConfig c, asio::io_context& io)
      : config(std::move(c)), acceptor(asio::make_strand(io)) {}
};

namespace {

constexpr unsigned kCommitThreads = 8;    // parallel fsyncs batch well on journaling filesystems
constexpr unsigned kPasswordThreads = 2;  // Argon2id at 64 MiB each

// Peer address as text; v4-mapped IPv6 is shown (and limited) as IPv4.
std::string client_address(const ClientSocket& s) {
  error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  return addr.to_string();
}

bool trusted(const std::string& client, const std::vector<Cidr>& networks) {
  auto ip = IpAddress::parse(client);
  if (!ip) return false;
  for (const auto& n : networks)
    if (n.contains(*ip)) return true;
  return false;
}

// Refuses a connection with one reply line (plain listeners only: on an
// implicit-TLS port the client expects a handshake, so we just close).
void refuse(ClientSocket sock, std::string reply, bool plain) {
  auto s = std::make_shared<ClientSocket>(std::move(sock));
  if (!plain) {
    error_code ignored;
    s->close(ignored);
    return;
  }
  auto text = std::make_shared<std::string>(std::move(reply));
  asio::async_write(*s, asio::buffer(*text), [s, text](const error_code&, std::size_t) {
    error_code ignored;
    s->shutdown(ClientSocket::shutdown_both, ignored);
    s->close(ignored);
  });
}

// Every listener's TLS context, or the first failure (naming listener and file).
Result<std::map<std::string, std::shared_ptr<asio::ssl::context>>> load_tls(const Config& cfg) {
  std::map<std::string, std::shared_ptr<asio::ssl::context>> out;
  for (const auto& l : cfg.listen) {
    if (!l.tls) continue;
    auto ctx = make_server_tls_context(*l.tls);
    if (!ctx) return Error::plain("listener " + l.address + ": " + ctx.error().what());
    out[l.address] = *ctx;
  }
  return out;
}

void on_accepted(const std::shared_ptr<ServerState>& state, ClientSocket sock,
                 const ListenerConfig& bound) {
  if (!state->accepting) return;
  ServerState::Snapshot snap = state->snapshot();
  // Use the listener's current settings (trusted networks may change on reload).
  ListenerConfig listener = bound;
  for (const auto& l : snap.config->listen)
    if (l.address == bound.address) listener = l;
  const std::string client = client_address(sock);
  const std::string host = snap.config->hostname;
  const bool plain = !listener.implicit_tls;

  if (listener.mode == ListenMode::Filter && !trusted(client, listener.trusted_networks)) {
    log::warn("smtp.refused",
              {{"class", "untrusted_network"}, {"client", client}, {"listener", listener.address}});
    return refuse(std::move(sock), "554 5.7.1 " + host + " Access denied\r\n", plain);
  }
  switch (state->try_admit(client, snap.config->limits)) {
    case ServerState::Admit::Ok:
      break;
    case ServerState::Admit::TooManyTotal:
      log::warn("smtp.refused", {{"class", "connection_limit"}, {"client", client}});
      return refuse(std::move(sock), "421 4.7.0 " + host + " Too many connections, try later\r\n",
                    plain);
    case ServerState::Admit::TooManyFromClient:
      log::warn("smtp.refused", {{"class", "client_connection_limit"}, {"client", client}});
      return refuse(std::move(sock),
                    "421 4.7.0 " + host + " Too many connections from your address\r\n", plain);
  }
  auto conn =
      std::make_shared<Connection>(state, std::move(sock), listener, client, std::move(snap));
  state->add(conn);
  Connection::spawn(conn);
}

asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<Listener> listener) {
  for (;;) {
    ClientSocket sock(asio::make_strand(state->io));
    error_code ec;
    co_await listener->acceptor.async_accept(sock, redirect_error(use_awaitable, ec));
    if (!state->accepting || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      log::warn("smtp.accept_failed",
                {{"listener", listener->config.address}, {"reason", ec.message()}});
      // Out of descriptors: back off instead of spinning on accept.
      asio::steady_timer pause(listener->acceptor.get_executor(), std::chrono::milliseconds(200));
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    on_accepted(state, std::move(sock), listener->config);
  }
}

}  // namespace

SmtpServer::SmtpServer(asio::io_context& io, std::shared_ptr<const Config> cfg, Spool& spool,
                       std::shared_ptr<const auth::UserDirectory> users,
                       std::function<void(const std::string&)> on_queued)
    : io_(io),
      commits_(std::make_unique<asio::thread_pool>(kCommitThreads)),
      passwords_(std::make_unique<asio::thread_pool>(kPasswordThreads)),
      state_(std::make_shared<ServerState>(io, spool, *commits_, *passwords_)) {
  state_->on_queued = std::move(on_queued);
  state_->login_throttle = std::make_shared<auth::LoginThrottle>(
      cfg->limits.auth_failures_per_client, std::chrono::minutes(15));
  state_->replace({std::move(cfg), std::move(users), {}});
}

SmtpServer::~SmtpServer() {
  state_->accepting = false;
  commits_->join();  // lets an in-flight commit finish: its 250 may be lost, never its data
  passwords_->stop();
  passwords_->join();
}

void SmtpServer::on_tls_failure(std::function<void()> hook) {
  state_->on_tls_failure = std::move(hook);
}

Result<void> SmtpServer::start() {
  ServerState::Snapshot snap = state_->snapshot();
  auto tls = load_tls(*snap.config);
  if (!tls) return tls.error();
  snap.tls = std::move(*tls);
  state_->replace(snap);

  std::vector<std::shared_ptr<Listener>> bound;
  for (const auto& l : snap.config->listen) {
    auto listener = std::make_shared<Listener>(l, io_);
    error_code ec;
    const auto addr = asio::ip::make_address(l.host, ec);
    if (ec) return Error::plain("listener " + l.address + ": bad address: " + ec.message());
    const tcp::endpoint ep(addr, l.port);
    auto& a = listener->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    // On failure the listeners bound so far close when `bound` goes away.
    if (ec) return Error::plain("listener " + l.address + ": " + ec.message());
    bound.push_back(std::move(listener));
  }
  listeners_ = std::move(bound);
  state_->accepting = true;
  for (const auto& l : listeners_) {
    log::info(
        "smtp.listen",
        {{"listener", l->config.address},
         {"mode", l->config.mode == ListenMode::Filter ? "filter" : "submission"},
         {"tls", l->config.implicit_tls ? "implicit" : (l->config.tls ? "starttls" : "none")}});
    asio::co_spawn(l->acceptor.get_executor(), accept_loop(state_, l), asio::detached);
  }
  return {};
}

Result<void> SmtpServer::reload(std::shared_ptr<const Config> cfg,
                                std::shared_ptr<const auth::UserDirectory> users) {
  auto tls = load_tls(*cfg);
  if (!tls) return tls.error();
  state_->login_throttle->set_limit(cfg->limits.auth_failures_per_client);
  state_->replace({std::move(cfg), std::move(users), std::move(*tls)});
  log::info("smtp.reloaded", {{"listeners", listeners_.size()}});
  return {};
}

void SmtpServer::stop_accepting() {
  state_->accepting = false;
  for (const auto& l : listeners_) {
    asio::post(l->acceptor.get_executor(), [l] {
      error_code ignored;
      l->acceptor.close(ignored);
    });
  }
}

void SmtpServer::shutdown(std::chrono::seconds grace) {
  stop_accepting();
  for (const auto& c : state_->connections()) c->drain();
  auto timer = std::make_shared<asio::steady_timer>(asio::make_strand(io_), grace);
  timer->async_wait([timer, state = state_](const error_code& ec) {
    if (ec) return;  // every session ended before the grace period
    for (const auto& c : state->connections()) c->force_close();
  });
  state_->set_grace_timer(timer);
}

std::size_t SmtpServer::active_sessions() const {
  return state_->active();
}

std::vector<tcp::endpoint> SmtpServer::local_endpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& l : listeners_) {
    error_code ec;
    out.push_back(l->acceptor.local_endpoint(ec));
  }
  return out;
}

}  // namespace sealpost::server
