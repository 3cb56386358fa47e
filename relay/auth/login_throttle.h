// Failed logins per client address across connections (Postfix's anvil idea):
// closing a connection after a few wrong passwords alone does not stop a
// client that simply reconnects. After `limit` failures within `window` the
// address may not try again until its oldest failure has aged out. IPv6
// clients count per /64 (common/sliding_window.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/sliding_window.h"

namespace sealpost::auth {

class LoginThrottle {
 public:
  using Clock = SlidingWindow::Clock;
  LoginThrottle(unsigned limit, std::chrono::seconds window, std::size_t max_clients = 10000)
      : failures_(limit, window, max_clients) {}

  // False while `client` has used up its failures.
  bool may_try(std::string_view client, Clock::time_point now = Clock::now()) {
    return failures_.allowed(client_key(client), now);
  }
  void failed(std::string_view client, Clock::time_point now = Clock::now()) {
    failures_.add(client_key(client), now);
  }
  // limits.auth_failures_per_client changed on SIGHUP; the counts stay.
  void set_limit(unsigned limit) { failures_.set_limit(limit); }

 private:
  SlidingWindow failures_;
};

}  // namespace sealpost::auth
