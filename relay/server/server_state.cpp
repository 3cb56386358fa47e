#include "relay/server/server_state.h"

#include <boost/asio/post.hpp>

#include "common/sliding_window.h"

namespace sealpost::server {

ServerState::Admit ServerState::try_admit(const std::string& client, const LimitsConfig& limits) {
  // Keyed like the login throttle: one IPv6 client holds a whole /64, and
  // counting per exact address would let it open a slot per address.
  const std::string key = client_key(client);
  std::lock_guard lock(mu);
  if (active_count.load() >= limits.max_connections) return Admit::TooManyTotal;
  unsigned& n = per_client[key];
  if (n >= limits.max_connections_per_client) {
    if (n == 0) per_client.erase(key);
    return Admit::TooManyFromClient;
  }
  ++n;
  ++active_count;
  return Admit::Ok;
}

void ServerState::release(const std::string& client) {
  const std::string key = client_key(client);
  std::lock_guard lock(mu);
  auto it = per_client.find(key);
  if (it != per_client.end() && --it->second == 0) per_client.erase(it);
  --active_count;
}

void ServerState::add(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu);
  live[c.get()] = c;
}

void ServerState::remove(const Connection* c) {
  std::lock_guard lock(mu);
  live.erase(c);
  if (live.empty() && !accepting) cancel_grace_timer_locked();
}

void ServerState::set_grace_timer(std::shared_ptr<boost::asio::steady_timer> timer) {
  std::lock_guard lock(mu);
  cancel_grace_timer_locked();  // a second shutdown() replaces the first deadline
  grace_timer = std::move(timer);
  if (live.empty()) cancel_grace_timer_locked();
}

void ServerState::cancel_grace_timer_locked() {
  if (!grace_timer) return;
  // The timer lives on its own strand; cancel it there, not on this thread.
  boost::asio::post(grace_timer->get_executor(), [t = grace_timer] { t->cancel(); });
  grace_timer.reset();
}

std::vector<std::shared_ptr<Connection>> ServerState::connections() const {
  std::lock_guard lock(mu);
  std::vector<std::shared_ptr<Connection>> out;
  for (const auto& [ptr, weak] : live)
    if (auto c = weak.lock()) out.push_back(std::move(c));
  return out;
}

}  // namespace sealpost::server
