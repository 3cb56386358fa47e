#include "relay/reload_check.h"

#include <set>
#include <tuple>

namespace sealpost {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

Error refuse(const std::string& key, const std::string& was, const std::string& now) {
  return Error::plain(key + " changed (" + was + " -> " + now + "); " + key +
                      " changes only with a restart of sealpostd, so the reload is refused and "
                      "the running configuration kept");
}

std::set<std::string> addresses(const Config& c) {
  std::set<std::string> out;
  for (const auto& l : c.listen) out.insert(l.address);
  return out;
}

}  // namespace

Result<ReloadPlan> plan_reload(const Config& running, Config next) {
  if (next.state_dir != running.state_dir)
    return refuse("state_dir", running.state_dir, next.state_dir);
  if (next.queue.spool_key != running.queue.spool_key)
    return refuse("queue.spool_key",
                  running.queue.spool_key.empty() ? "(default)" : running.queue.spool_key,
                  next.queue.spool_key.empty() ? "(default)" : next.queue.spool_key);
  if (next.queue.spool_old_keys != running.queue.spool_old_keys)
    return refuse("queue.spool_old_keys", joined(running.queue.spool_old_keys),
                  joined(next.queue.spool_old_keys));

  ReloadPlan plan;
  auto keep = [&plan](bool changed, const char* key, auto& field, const auto& value) {
    if (!changed) return;
    plan.needs_restart.emplace_back(key);
    field = value;
  };
  if (addresses(next) != addresses(running)) {
    // Only the bound addresses can serve: each keeps its new settings (mode,
    // TLS files, trusted networks) if it is still listed, else its running ones.
    plan.needs_restart.emplace_back("listen (addresses)");
    std::vector<ListenerConfig> bound;
    for (const auto& old : running.listen) {
      const ListenerConfig* same = &old;
      for (const auto& l : next.listen)
        if (l.address == old.address) same = &l;
      bound.push_back(*same);
    }
    next.listen = std::move(bound);
  }
  keep(next.queue.workers != running.queue.workers, "queue.workers", next.queue.workers,
       running.queue.workers);
  keep(next.limits.max_message_size != running.limits.max_message_size, "limits.max_message_size",
       next.limits.max_message_size, running.limits.max_message_size);
  keep(next.limits.message_memory != running.limits.message_memory, "limits.message_memory",
       next.limits.message_memory, running.limits.message_memory);
  // Compared whole (operator==), so a key added later cannot be forgotten
  // here: the keystore and the IMAP threads take their settings at start.
  keep(next.keystore != running.keystore, "keystore", next.keystore, running.keystore);
  keep(next.imap != running.imap, "imap", next.imap, running.imap);
  plan.applied = std::move(next);
  return plan;
}

}  // namespace sealpost
