// The SMTP listeners of sealpostd (relay/daemon.cpp owns one SmtpServer).
//
// Threading: everything runs on the caller's io_context (run it from a few
// threads); each connection is a coroutine on its own strand. Password
// checks and spool commits (fsync) run on two small internal thread pools,
// so a slow disk or an AUTH flood never stalls the network threads.
//
// Lifetime: destroy the SmtpServer only after io.run() has returned.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "relay/auth/user_directory.h"
#include "relay/spool/spool.h"

namespace boost::asio {
class thread_pool;
}

namespace sealpost::server {

struct ServerState;
struct Listener;

class SmtpServer {
 public:
  SmtpServer(boost::asio::io_context& io, std::shared_ptr<const Config> cfg, Spool& spool,
             std::shared_ptr<const auth::UserDirectory> users,
             std::function<void(const std::string& queue_id)> on_queued);
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Called on a network thread for every inbound TLS handshake that fails
  // (STARTTLS or implicit TLS). Set before start().
  void on_tls_failure(std::function<void()> hook);

  // Loads TLS certificates and binds every listener; the Error names the
  // listener address (or certificate file) that failed. Nothing stays bound
  // on failure.
  Result<void> start();
  // All or nothing: the TLS certificates and keys of every listener are
  // re-read first; if one fails, the Error names listener and file and
  // nothing changes. Otherwise new sessions use the new config, users and
  // certificates (running sessions keep theirs) and the AUTH-failure limit
  // per client changes (the counts stay). Listener addresses change only
  // with a restart.
  Result<void> reload(std::shared_ptr<const Config> cfg,
                      std::shared_ptr<const auth::UserDirectory> users);
  void stop_accepting();
  // Stops accepting; idle sessions get 421 4.3.2 now, a session inside DATA
  // may finish its message; whatever is left after `grace` is closed.
  void shutdown(std::chrono::seconds grace);
  std::size_t active_sessions() const;

  // Where each listener is bound, in config order (tests bind port 0).
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;

 private:
  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::thread_pool> commits_;
  std::unique_ptr<boost::asio::thread_pool> passwords_;
  std::shared_ptr<ServerState> state_;
  std::vector<std::shared_ptr<Listener>> listeners_;
};

}  // namespace sealpost::server
