#include "portal/session_table.h"

#include <sodium.h>

#include "common/secure_random.h"

namespace sealpost::portal {

std::string SessionTable::key_of(const std::string& token) {
  unsigned char h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

std::string SessionTable::create(std::string pickup_id, pickup::SecretBytes secret) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  evict_locked(now);
  std::string token = random_token(32);
  Session s;
  s.pickup_id = std::move(pickup_id);
  s.secret = std::move(secret);
  s.csrf = random_token(24);
  s.last_seen = now;
  sessions_.emplace(key_of(token), std::move(s));
  return token;
}

std::optional<Session> SessionTable::get(const std::string& token) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key_of(token));
  if (it == sessions_.end()) return std::nullopt;
  if (now - it->second.last_seen > idle_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_seen = now;
  return it->second;
}

void SessionTable::update(const std::string& token, const Session& s) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key_of(token));
  if (it != sessions_.end()) it->second = s;
}

std::optional<std::string> SessionTable::rotate(const std::string& token, bool authenticated,
                                                bool second_factor) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key_of(token));
  if (it == sessions_.end() || now - it->second.last_seen > idle_) return std::nullopt;
  Session s = std::move(it->second);
  sessions_.erase(it);
  s.csrf = random_token(24);
  s.authenticated = authenticated;
  s.second_factor = second_factor;
  s.last_seen = now;
  std::string fresh = random_token(32);
  sessions_.emplace(key_of(fresh), std::move(s));
  return fresh;
}

void SessionTable::erase(const std::string& token) {
  std::lock_guard lock(mu_);
  sessions_.erase(key_of(token));
}

void SessionTable::evict_locked(std::chrono::steady_clock::time_point now) {
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = now - it->second.last_seen > idle_ ? sessions_.erase(it) : std::next(it);
  // Still full: drop the least recently used so a flood cannot exhaust memory.
  while (sessions_.size() >= max_) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (it->second.last_seen < oldest->second.last_seen) oldest = it;
    sessions_.erase(oldest);
  }
}

}  // namespace sealpost::portal
