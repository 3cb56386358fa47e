// Portal sessions, in memory only: a random cookie token maps to the pickup
// and its link secret (needed to unwrap the key on every request). Restarting
// the portal ends all sessions; patients simply open their link again.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "portal/pickup_crypto.h"

namespace sealpost::portal {

struct Session {
  std::string pickup_id;
  pickup::SecretBytes secret;
  std::string csrf;
  bool authenticated = false;
  bool code_sent = false;
  std::chrono::steady_clock::time_point last_seen;
};

class SessionTable {
 public:
  SessionTable(std::chrono::seconds idle, std::size_t max_sessions)
      : idle_(idle), max_(max_sessions) {}

  // Returns the new cookie token.
  std::string create(std::string pickup_id, pickup::SecretBytes secret);
  // A copy of the session if the token is live (and touches it).
  std::optional<Session> get(const std::string& token);
  void update(const std::string& token, const Session& s);
  void erase(const std::string& token);

 private:
  void evict_locked(std::chrono::steady_clock::time_point now);
  std::chrono::seconds idle_;
  std::size_t max_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
};

// Counts failures (bad links, wrong codes) per client address in a sliding hour.
class ClientLimiter {
 public:
  explicit ClientLimiter(int max_per_hour) : max_(max_per_hour) {}
  bool blocked(const std::string& client);
  void failure(const std::string& client);

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    int failures = 0;
  };
  int max_;
  std::mutex mu_;
  std::map<std::string, Window> clients_;
};

}  // namespace sealpost::portal
