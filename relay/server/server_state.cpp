#include "relay/server/server_state.h"

namespace sealpost::server {

ServerState::Admit ServerState::try_admit(const std::string& client, const LimitsConfig& limits) {
  std::lock_guard lock(mu);
  if (active_count.load() >= limits.max_connections) return Admit::TooManyTotal;
  unsigned& n = per_client[client];
  if (n >= limits.max_connections_per_client) {
    if (n == 0) per_client.erase(client);
    return Admit::TooManyFromClient;
  }
  ++n;
  ++active_count;
  return Admit::Ok;
}

void ServerState::release(const std::string& client) {
  std::lock_guard lock(mu);
  auto it = per_client.find(client);
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
}

std::vector<std::shared_ptr<Connection>> ServerState::connections() const {
  std::lock_guard lock(mu);
  std::vector<std::shared_ptr<Connection>> out;
  for (const auto& [ptr, weak] : live)
    if (auto c = weak.lock()) out.push_back(std::move(c));
  return out;
}

}  // namespace sealpost::server
