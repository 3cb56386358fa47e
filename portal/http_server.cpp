#include "portal/http_server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/log.h"
#include "common/sliding_window.h"
#include "config/host_port.h"
#include "portal/http_parsing.h"
#include "portal/worker_pool.h"

namespace sealpost::portal {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct HttpServer::Impl {
  PortalApp& app;
  PortalSettings settings;
  ServerLimits limits;
  // Declared before the io_context: handlers it destroys last may still
  // release connections, which count themselves out here.
  std::atomic<unsigned> connections{0};
  std::mutex clients_mu;
  std::map<std::string, unsigned> per_client;  // client_key(peer) -> open connections
  net::io_context ioc;
  // Swapped whole on reload (SIGHUP after a certificate renewal); each
  // connection keeps the context it started with alive.
  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;
  tcp::acceptor acceptor{ioc};
  // Last member: stopped and joined first, while everything above still lives.
  WorkerPool pool;

  Impl(PortalApp& a, const PortalSettings& s, ServerLimits l)
      : app(a), settings(s), limits(l), pool(l.workers, l.max_queued_jobs, l.jobs_per_client) {}
  void accept();
  bool trusted_proxy(const std::string& peer) const {
    auto ip = IpAddress::parse(peer);
    for (const auto& c : settings.trusted_proxies)
      if (ip && c.contains(*ip)) return true;
    return false;
  }
  // Counts a connection from `peer`; false when that client is at its cap.
  bool admit(const std::string& key);
  void release(const std::string& key);
};

bool HttpServer::Impl::admit(const std::string& key) {
  if (key.empty()) return true;  // a trusted proxy: not capped per client
  std::lock_guard lock(clients_mu);
  unsigned& n = per_client[key];
  if (n >= limits.max_connections_per_client) {
    if (n == 0) per_client.erase(key);
    return false;
  }
  ++n;
  return true;
}

void HttpServer::Impl::release(const std::string& key) {
  if (key.empty()) return;
  std::lock_guard lock(clients_mu);
  if (auto it = per_client.find(key); it != per_client.end() && --it->second == 0)
    per_client.erase(it);
}

namespace {

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  // `client_key` is already admitted (Impl::admit); released on destruction.
  template <class... Args>
  Connection(HttpServer::Impl& server, std::string peer, std::string client_key, Args&&... args)
      : server_(server),
        peer_(std::move(peer)),
        client_key_(std::move(client_key)),
        stream_(std::forward<Args>(args)...) {
    ++server_.connections;
  }
  ~Connection() {
    server_.release(client_key_);
    --server_.connections;
  }
  void keep_alive(std::shared_ptr<ssl::context> ctx) { tls_ = std::move(ctx); }

  void start() {
    auto self = this->shared_from_this();
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(server_.limits.read_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
        if (!ec) self->read_header();
      });
    } else {
      read_header();
    }
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits.header_bytes));
    // The real per-route limit is set once the target is known (on_header);
    // until then do not let the default limit fail the header read itself
    // (not boost::none: Beast 1.74 compares Content-Length against it as "exceeded").
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::get_lowest_layer(stream_).expires_after(server_.limits.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      HttpRequest bare;  // the headers were not read: only the peer is known
      bare.peer = peer_;
      server_.app.rejected(bare, 431, "header_too_large");
      return reject(431);
    }
    if (ec) return close();
    const auto& req = parser_->get();
    const auto method = req.method_string();
    const auto target = req.target();
    const auto cookie = req[http::field::cookie];
    // Decided before any body byte is read: the session in the cookie, not
    // the route alone, earns the large reply limit.
    permit_ = server_.app.body_permit(std::string_view(method.data(), method.size()),
                                      std::string_view(target.data(), target.size()),
                                      std::string_view(cookie.data(), cookie.size()));
    if (permit_.busy) {
      server_.app.rejected(header_only(req), 503, "uploads_busy");
      return reject(503);
    }
    const std::size_t limit = permit_.limit;
    if (auto len = parser_->content_length(); len && *len > limit) {
      server_.app.rejected(header_only(req), 413, "body_too_large");
      return reject(413);
    }
    parser_->body_limit(limit);
    beast::get_lowest_layer(stream_).expires_after(server_.limits.body_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
  }

  // The request line and headers as PortalApp sees them, without the body.
  template <class Request>
  HttpRequest header_only(const Request& req) const {
    HttpRequest in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.peer = peer_;
    in.cookie = std::string(req[http::field::cookie]);
    in.content_type = std::string(req[http::field::content_type]);
    in.accept_language = std::string(req[http::field::accept_language]);
    // Every X-Forwarded-For line, in order: req[] alone would return the
    // first one, which the client wrote, not the one the proxy appended.
    std::vector<std::string_view> xff;
    for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it)
      xff.emplace_back(it->value().data(), it->value().size());
    in.forwarded_for = join_header_lines(xff);
    return in;
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      server_.app.rejected(header_only(parser_->get()), 413, "body_too_large");
      return reject(413);
    }
    if (ec) return close();
    auto req = parser_->release();
    HttpRequest in = header_only(req);
    in.body = std::move(req.body());
    const bool keep_alive = req.keep_alive();
    if (!PortalApp::blocking(in.method, in.target)) {
      HttpResponse out = server_.app.handle(in);
      permit_ = {};
      return respond(std::move(out), keep_alive);
    }
    // Slow work goes to the worker pool; the answer comes back on this
    // connection's strand. Meanwhile the I/O threads serve everyone else.
    const std::string client = client_key(server_.app.client_of(in));
    auto shared_in = std::make_shared<HttpRequest>(std::move(in));  // the body is not copied
    auto job = [self = this->shared_from_this(), shared_in, keep_alive]() {
      HttpResponse out = self->server_.app.handle(*shared_in);
      net::post(self->stream_.get_executor(), [self, out = std::move(out), keep_alive]() mutable {
        self->permit_ = {};
        self->respond(std::move(out), keep_alive);
      });
    };
    if (server_.pool.submit(client, std::move(job)) != WorkerPool::Submit::Ok) {
      permit_ = {};
      respond(server_.app.busy(*shared_in), keep_alive);
    }
  }

  void respond(HttpResponse out, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<http::status>(out.status));
    res->set(http::field::server, "sealpost-portal");
    res->set(http::field::content_type, out.content_type);
    for (const auto& [k, v] : out.headers) res->insert(k, v);
    res->body() = std::move(out.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    write(res);
  }

  void reject(unsigned status) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<http::status>(status));
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    res->set(http::field::cache_control, "no-store");
    if (status == 503) res->set(http::field::retry_after, "30");
    res->body() = status == 413   ? "Request too large\n"
                  : status == 431 ? "Request headers too large\n"
                  : status == 503 ? "Busy, please try again shortly\n"
                                  : "Bad request\n";
    res->keep_alive(false);
    res->prepare_payload();
    write(res);
  }

  void write(std::shared_ptr<http::response<http::string_body>> res) {
    beast::get_lowest_layer(stream_).expires_after(server_.limits.body_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive()) return self->close();
                        self->read_header();
                      });
  }

  void close() {
    beast::error_code ec;
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_)
            .socket()
            .shutdown(tcp::socket::shutdown_both, ignored);
      });
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  HttpServer::Impl& server_;
  std::string peer_;
  std::string client_key_;             // "" for a trusted proxy
  PortalApp::BodyPermit permit_;       // holds a reply upload slot while the body is read
  std::shared_ptr<ssl::context> tls_;  // declared before stream_: outlives it
  Stream stream_;
  beast::flat_buffer buffer_{std::size_t{16} * 1024};
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket sock) {
    if (ec) {
      if (ec != net::error::operation_aborted) accept();
      return;
    }
    beast::error_code pe;
    auto ep = sock.remote_endpoint(pe);
    std::string peer;
    if (!pe)
      peer = ep.address().is_v6() && ep.address().to_v6().is_v4_mapped()
                 ? net::ip::make_address_v4(net::ip::v4_mapped, ep.address().to_v6()).to_string()
                 : ep.address().to_string();
    const std::string key = trusted_proxy(peer) ? std::string() : client_key(peer);
    if (pe || connections >= limits.max_connections || !admit(key)) {
      // Over a cap: close at once rather than queue (slowloris protection).
      sock.close(pe);
      accept();
      return;
    }
    std::shared_ptr<ssl::context> ctx;
    {
      std::lock_guard lock(tls_mu);
      ctx = tls;
    }
    if (ctx) {
      auto c = std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
          *this, peer, key, std::move(sock), *ctx);
      c->keep_alive(std::move(ctx));
      c->start();
    } else {
      std::make_shared<Connection<beast::tcp_stream>>(*this, peer, key, std::move(sock))->start();
    }
    accept();
  });
}

namespace {

// TLS 1.2+ with the certificate chain and key as they are on disk now.
std::shared_ptr<ssl::context> make_tls_context(const TlsFiles& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  ctx->use_certificate_chain_file(files.cert);
  ctx->use_private_key_file(files.key, ssl::context::pem);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("private key does not match the certificate");
  return ctx;
}

}  // namespace

Result<void> HttpServer::reload_tls() {
  if (!impl_->settings.tls) return {};
  try {
    auto fresh = make_tls_context(*impl_->settings.tls);
    std::lock_guard lock(impl_->tls_mu);
    impl_->tls = std::move(fresh);
  } catch (const std::exception& e) {
    return Error::plain(std::string("portal.tls: ") + e.what() + " (the old certificate stays)");
  }
  return {};
}

HttpServer::HttpServer(PortalApp& app, const PortalSettings& settings, ServerLimits limits)
    : impl_(std::make_unique<Impl>(app, settings, limits)) {}

HttpServer::~HttpServer() = default;

Result<void> HttpServer::listen() {
  auto hp = parse_host_port(impl_->settings.listen);
  if (!hp || !hp->host_is_ip)
    return Error::plain("portal.listen: expected IP:PORT, got '" + impl_->settings.listen + "'");
  try {
    if (impl_->settings.tls) impl_->tls = make_tls_context(*impl_->settings.tls);
    tcp::endpoint ep(net::ip::make_address(hp->host), hp->port);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(net::socket_base::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen(net::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    return Error::plain(std::string("portal: cannot listen on ") + impl_->settings.listen + ": " +
                        e.what());
  }
  return {};
}

std::uint16_t HttpServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void HttpServer::run() {
  impl_->accept();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < impl_->limits.threads; ++i)
    threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
  impl_->pool.stop();  // running jobs finish; their answers go nowhere now
}

void HttpServer::stop() {
  impl_->ioc.stop();
}

}  // namespace sealpost::portal
