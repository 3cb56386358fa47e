// Bounds the audit events that anyone can cause without a session (bad links,
// requests without a session, refused requests): each client (IPv6: its /64)
// has a token bucket; events beyond it are counted, not written, and the count
// goes into the chain as one "suppressed N" summary once the client has tokens
// again or at the next flush(). Beyond kMaxClients addresses all further ones
// share a single bucket, so neither the log nor this table grows without bound.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sealpost::portal {

class AuditThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxClients = 10000;
  static constexpr const char* kOverflowKey = "*";

  // `burst` events at once, then one per `refill` per client.
  AuditThrottle(unsigned burst, std::chrono::milliseconds refill)
      : burst_(burst), refill_(refill) {}

  struct Admit {
    bool write = false;            // record the event
    std::uint64_t suppressed = 0;  // write a summary of this many dropped events first
    std::string key;               // the bucket: "CLIENT[ KIND]" or kOverflowKey
  };
  // `kind` (the event type) gets a bucket of its own per client, so one
  // flood of bad links cannot hide that the rate limit then struck.
  Admit admit(const std::string& client, std::string_view kind,
              Clock::time_point now = Clock::now());
  Admit admit(const std::string& client, Clock::time_point now = Clock::now()) {
    return admit(client, {}, now);
  }

  struct Pending {
    std::string key;
    std::uint64_t suppressed;
  };
  // The suppressed counts not yet reported, reset to zero; buckets that are
  // full again and owe nothing are dropped from the table.
  std::vector<Pending> flush(Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
    std::uint64_t suppressed = 0;
  };
  void refill(Bucket& b, Clock::time_point now) const;

  unsigned burst_;
  std::chrono::milliseconds refill_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
  Clock::time_point last_sweep_{};  // a full table is swept at most once a second
};

}  // namespace sealpost::portal
