#include "common/sliding_window.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <iterator>

namespace sealpost {

void SlidingWindow::expire(std::deque<Clock::time_point>& times, Clock::time_point now) const {
  while (!times.empty() && now - times.front() >= window_) times.pop_front();
}

bool SlidingWindow::allowed(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = events_.find(key);
  if (it == events_.end()) return true;
  expire(it->second, now);
  if (it->second.empty()) {
    events_.erase(it);
    return true;
  }
  return it->second.size() < limit_;
}

void SlidingWindow::set_limit(unsigned limit) {
  std::lock_guard lock(mu_);
  limit_ = limit;
}

void SlidingWindow::add(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (events_.size() >= max_keys_ && events_.count(key) == 0) {
    // Full: drop what has aged out; if that frees nothing, forget the key
    // whose last event is oldest rather than grow without bound.
    for (auto it = events_.begin(); it != events_.end();) {
      expire(it->second, now);
      it = it->second.empty() ? events_.erase(it) : std::next(it);
    }
    if (events_.size() >= max_keys_) {
      auto oldest = events_.begin();
      for (auto it = events_.begin(); it != events_.end(); ++it)
        if (it->second.back() < oldest->second.back()) oldest = it;
      events_.erase(oldest);
    }
  }
  auto& times = events_[key];
  expire(times, now);
  times.push_back(now);
  while (times.size() > limit_) times.pop_front();  // only the newest `limit_` matter
}

std::string client_key(std::string_view address) {
  std::string text(address);
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

}  // namespace sealpost
