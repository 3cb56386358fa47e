// Counts events per key in a sliding time window, with bounded memory: the
// one rate limiter behind failed SMTP logins, portal link/code failures and
// SMS code requests. `client_key` folds an IPv6 address to its /64, which
// one attacker typically holds whole, so limits keyed by it are per network.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace sealpost {

class SlidingWindow {
 public:
  using Clock = std::chrono::steady_clock;
  SlidingWindow(unsigned limit, std::chrono::seconds window, std::size_t max_keys = 10000)
      : limit_(limit), window_(window), max_keys_(max_keys) {}

  // False while `key` has `limit` events younger than the window.
  bool allowed(const std::string& key, Clock::time_point now = Clock::now());
  void add(const std::string& key, Clock::time_point now = Clock::now());
  // A new limit (SIGHUP); the events counted so far stay.
  void set_limit(unsigned limit);

 private:
  void expire(std::deque<Clock::time_point>& times, Clock::time_point now) const;

  unsigned limit_;  // guarded by mu_
  const std::chrono::seconds window_;
  const std::size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, std::deque<Clock::time_point>> events_;
};

// "2001:db8:1:2::/64" for any address in that /64; IPv4 (also IPv4-mapped
// IPv6) as the dotted address; anything else unchanged.
std::string client_key(std::string_view address);

}  // namespace sealpost
