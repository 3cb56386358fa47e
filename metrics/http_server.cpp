#include "metrics/http_server.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>

#include "common/log.h"
#include "config/host_port.h"

namespace sealpost::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr int kMaxConnections = 16;
constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(5);

http::response<http::string_body> respond(const http::request<http::empty_body>& req,
                                          const Registry& registry,
                                          const std::function<bool()>& healthy) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(false);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.body() = "method not allowed\n";
  } else if (req.target() == "/metrics") {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = registry.render();
  } else if (req.target() == "/health") {
    const bool ok = !healthy || healthy();
    res.result(ok ? http::status::ok : http::status::service_unavailable);
    res.body() = ok ? "ok\n" : "unhealthy\n";
  } else {
    res.result(http::status::not_found);
    res.body() = "not found\n";
  }
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

class Server final : public HttpServer {
 public:
  Server(const Registry& registry, std::function<bool()> healthy)
      : registry_(registry), healthy_(std::move(healthy)), acceptor_(io_) {}

  ~Server() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Result<void> listen(const tcp::endpoint& ep) {
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(64, ec);
    if (ec)
      return Error::plain("metrics: cannot listen on " + ep.address().to_string() + ":" +
                          std::to_string(ep.port()) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
    return {};
  }

  std::uint16_t port() const override { return port_; }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      if (active_.load() >= kMaxConnections) continue;  // socket closes when dropped
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    ++active_;
    struct Release {
      std::atomic<int>& n;
      ~Release() { --n; }
    } release{active_};
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(kRequestTimeout);
    beast::flat_buffer buffer(kMaxHeaderBytes);
    http::request_parser<http::empty_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(0);
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // malformed, too large or too slow: just close
    auto res = respond(parser.get(), registry_, healthy_);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  // Declared before io_ so they outlive it: destroying io_ destroys suspended
  // connection coroutines, which still touch active_ and the registry.
  const Registry& registry_;
  std::function<bool()> healthy_;
  std::atomic<int> active_{0};
  std::uint16_t port_ = 0;
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& address,
                                                      const Registry& registry,
                                                      std::function<bool()> healthy) {
  auto hp = parse_host_port(address);
  // parse_host_port refuses port 0; tests ask for a free port with ":0".
  std::string host;
  std::uint16_t port = 0;
  if (hp) {
    host = hp->host;
    port = hp->port;
  } else if (address.ends_with(":0")) {
    host = address.substr(0, address.size() - 2);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
  } else {
    return Error::plain("metrics.listen: '" + address + "' is not host:port");
  }
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec || !ip.is_loopback())
    return Error::plain("metrics.listen: '" + address +
                        "' must be a loopback IP address (the endpoint has no authentication)");
  auto server = std::make_unique<Server>(registry, std::move(healthy));
  if (auto r = server->listen(tcp::endpoint(ip, port)); !r) return r.error();
  log::info("metrics.listening", {{"address", host}, {"port", server->port()}});
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace sealpost::metrics
