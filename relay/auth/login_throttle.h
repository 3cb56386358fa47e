// Failed logins per client address across connections (Postfix's anvil idea):
// closing a connection after a few wrong passwords alone does not stop a
// client that simply reconnects. After `limit` failures within `window` the
// address may not try again until its oldest failure has aged out. IPv6
// clients count per /64, which one attacker typically holds whole.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace sealpost::auth {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  LoginThrottle(unsigned limit, std::chrono::seconds window, std::size_t max_clients = 10000)
      : limit_(limit), window_(window), max_clients_(max_clients) {}

  // False while `client` has used up its failures.
  bool may_try(std::string_view client, Clock::time_point now = Clock::now());
  void failed(std::string_view client, Clock::time_point now = Clock::now());

  // "2001:db8:1:2::/64" for any address in that /64, the address itself for IPv4.
  static std::string key_for(std::string_view client);

 private:
  void expire_locked(std::deque<Clock::time_point>& times, Clock::time_point now) const;

  const unsigned limit_;
  const std::chrono::seconds window_;
  const std::size_t max_clients_;  // bounded memory under an address flood
  std::mutex mu_;
  std::map<std::string, std::deque<Clock::time_point>> failures_;
};

}  // namespace sealpost::auth
