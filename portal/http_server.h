// The portal's network side: Boost.Beast HTTP/1.1 over plain TCP (behind a
// reverse proxy) or TLS (portal.tls). Bounded header size, per-route body
// limits, read/write timeouts, a connection cap overall and per client; every
// request goes to PortalApp::handle, slow ones on a bounded worker pool.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "common/result.h"
#include "portal/portal_app.h"

namespace sealpost::portal {

struct ServerLimits {
  std::size_t header_bytes = 8 * 1024;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds body_timeout{120};  // uploads on slow phone networks
  unsigned max_connections = 200;
  // Per client address (IPv6: per /64); trusted proxies are exempt, since
  // every client behind them shares their address.
  unsigned max_connections_per_client = 20;
  unsigned threads = 4;  // Asio I/O threads: pages, downloads
  // The worker pool for slow requests (SMS, SMTP, argon2id).
  unsigned workers = 4;
  std::size_t max_queued_jobs = 64;
  unsigned jobs_per_client = 2;
};

class HttpServer {
 public:
  HttpServer(PortalApp& app, const PortalSettings& settings, ServerLimits limits);
  ~HttpServer();
  // Binds (port 0 picks a free port) and prepares TLS; call before run().
  Result<void> listen();
  std::uint16_t port() const;
  // Re-reads portal.tls cert and key for new connections (SIGHUP after a
  // renewal); on any error the current ones stay and the error is returned.
  Result<void> reload_tls();
  // Serves until stop() (from a signal handler thread) is called.
  void run();
  void stop();

  struct Impl;  // public only so the per-connection template can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sealpost::portal
