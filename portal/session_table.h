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

#include "common/sliding_window.h"
#include "portal/pickup_crypto.h"

namespace sealpost::portal {

struct Session {
  std::string pickup_id;
  pickup::SecretBytes secret;
  std::string csrf;
  bool authenticated = false;
  // Passed the pickup's own second factor (not a portal password): only
  // such a session may set the portal password.
  bool second_factor = false;
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
  // Moves the session to a new token with a new CSRF token (after the second
  // factor: no session fixation); the old token is dead. nullopt if it was.
  std::optional<std::string> rotate(const std::string& token, bool authenticated,
                                    bool second_factor);
  void erase(const std::string& token);

 private:
  void evict_locked(std::chrono::steady_clock::time_point now);
  // The table is keyed by a hash of the cookie token, so the map's
  // byte-by-byte comparisons leak nothing usable about live tokens.
  static std::string key_of(const std::string& token);
  std::chrono::seconds idle_;
  std::size_t max_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
};

// Counts failures (bad links, wrong codes, code requests) per client address
// (IPv6: per /64) in a sliding hour, for at most 100000 addresses.
class ClientLimiter {
 public:
  explicit ClientLimiter(int max_per_hour)
      : window_(static_cast<unsigned>(max_per_hour), std::chrono::hours(1), 100000) {}
  bool blocked(const std::string& client) { return !window_.allowed(client_key(client)); }
  void failure(const std::string& client) { window_.add(client_key(client)); }

 private:
  SlidingWindow window_;
};

}  // namespace sealpost::portal
