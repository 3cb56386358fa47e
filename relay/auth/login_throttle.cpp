#include "relay/auth/login_throttle.h"

#include <arpa/inet.h>

#include <array>

namespace sealpost::auth {

std::string LoginThrottle::key_for(std::string_view client) {
  std::string text(client);
  std::array<unsigned char, 16> v6{};
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) != 1) return text;
  static constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped.begin(), kMapped.end(), v6.begin())) {  // ::ffff:a.b.c.d
    char v4[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, v6.data() + 12, v4, sizeof v4);
    return v4;
  }
  std::fill(v6.begin() + 8, v6.end(), 0);
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, v6.data(), out, sizeof out);
  return std::string(out) + "/64";
}

void LoginThrottle::expire_locked(std::deque<Clock::time_point>& times,
                                  Clock::time_point now) const {
  while (!times.empty() && now - times.front() >= window_) times.pop_front();
}

bool LoginThrottle::may_try(std::string_view client, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key_for(client));
  if (it == failures_.end()) return true;
  expire_locked(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return true;
  }
  return it->second.size() < limit_;
}

void LoginThrottle::failed(std::string_view client, Clock::time_point now) {
  std::lock_guard lock(mu_);
  const std::string key = key_for(client);
  if (failures_.size() >= max_clients_ && failures_.count(key) == 0) {
    // Full: drop what has aged out; if that frees nothing, forget the entry
    // with the oldest last failure rather than grow without bound.
    for (auto it = failures_.begin(); it != failures_.end();) {
      expire_locked(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
    if (failures_.size() >= max_clients_) {
      auto oldest = failures_.begin();
      for (auto it = failures_.begin(); it != failures_.end(); ++it)
        if (it->second.back() < oldest->second.back()) oldest = it;
      failures_.erase(oldest);
    }
  }
  auto& times = failures_[key];
  expire_locked(times, now);
  times.push_back(now);
  if (times.size() > limit_) times.pop_front();  // only the newest `limit_` matter
}

}  // namespace sealpost::auth
