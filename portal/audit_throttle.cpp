#include "portal/audit_throttle.h"

#include <algorithm>

#include "common/sliding_window.h"

namespace sealpost::portal {

void AuditThrottle::refill(Bucket& b, Clock::time_point now) const {
  if (now <= b.last) return;
  const double gained = std::chrono::duration<double, std::milli>(now - b.last).count() /
                        static_cast<double>(refill_.count());
  b.tokens = std::min(static_cast<double>(burst_), b.tokens + gained);
  b.last = now;
}

AuditThrottle::Admit AuditThrottle::admit(const std::string& client, std::string_view kind,
                                          Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::string key = client_key(client);
  if (!kind.empty()) {
    key += ' ';
    key += kind;
  }
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxClients && now - last_sweep_ >= std::chrono::seconds(1)) {
      last_sweep_ = now;
      // Make room from clients that are quiet again before sharing a bucket.
      for (auto i = buckets_.begin(); i != buckets_.end();) {
        refill(i->second, now);
        const bool idle = i->second.suppressed == 0 &&
                          i->second.tokens >= static_cast<double>(burst_) &&
                          i->first != kOverflowKey;
        i = idle ? buckets_.erase(i) : std::next(i);
      }
    }
    if (buckets_.size() >= kMaxClients) key = kOverflowKey;
    it = buckets_.try_emplace(key, Bucket{static_cast<double>(burst_), now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  Admit a;
  a.key = key;
  if (b.tokens < 1.0) {
    ++b.suppressed;
    return a;
  }
  b.tokens -= 1.0;
  a.write = true;
  a.suppressed = b.suppressed;
  b.suppressed = 0;
  return a;
}

std::vector<AuditThrottle::Pending> AuditThrottle::flush(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<Pending> out;
  for (auto i = buckets_.begin(); i != buckets_.end();) {
    if (i->second.suppressed > 0) out.push_back({i->first, i->second.suppressed});
    i->second.suppressed = 0;
    refill(i->second, now);
    i = i->second.tokens >= static_cast<double>(burst_) ? buckets_.erase(i) : std::next(i);
  }
  return out;
}

}  // namespace sealpost::portal
