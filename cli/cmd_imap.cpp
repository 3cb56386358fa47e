// sealpost imap status: per configured account and folder, the daemon's
// connection (connected / connecting / backing-off since when, and why), the
// UIDVALIDITY and last UID it has handled, how many messages per outcome, and
// the last error. Reads <state_dir>/sealpost.db (written by sealpostd).
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>

#include "cli/commands.h"
#include "cli/output.h"
#include "config/config.h"
#include "imap/seen_store.h"

namespace sealpost::cli {
namespace {

int status(const Config& cfg, bool json) {
  std::map<std::pair<std::string, std::string>, imap::FolderStatus> known;
  const std::string db = cfg.state_dir + "/sealpost.db";
  // Do not create the database from the CLI: an absent file means "never polled".
  if (std::filesystem::exists(db)) {
    auto store = imap::open_sqlite_seen(db);
    if (!store) return fail(store.error().what());
    auto rows = (*store)->status();
    if (!rows) return fail(rows.error().what());
    for (auto& r : *rows) known[{r.account, r.folder}] = r;
  }
  if (json)
    std::printf("{\"accounts\": [");
  else
    std::printf("%-32s %-16s %-28s %10s %8s  %s\n", "ACCOUNT", "FOLDER", "CONNECTION", "LAST_UID",
                "HANDLED", "OUTCOMES / LAST_ERROR");
  bool first = true;
  for (const auto& a : cfg.imap) {
    const std::string key = imap::account_key(a.username, a.host, a.port);
    for (const auto& folder : a.folders) {
      imap::FolderStatus s;
      auto it = known.find({key, folder});
      const bool polled = it != known.end();
      if (polled) s = it->second;
      const std::string err = polled ? s.last_error : "never polled";
      const std::string connection = s.connection.empty() ? "unknown" : s.connection;
      if (json) {
        std::string outcomes = "{";
        for (const auto& [name, n] : s.outcomes)
          outcomes += std::string(outcomes.size() > 1 ? "," : "") + json_string(name) + ":" +
                      std::to_string(n);
        outcomes += "}";
        std::printf(
            "%s{\"account\":%s,\"folder\":%s,\"connection\":%s,\"connection_since\":%s,"
            "\"connection_error\":%s,\"uidvalidity\":%u,\"last_uid\":%u,\"handled\":%lld,"
            "\"outcomes\":%s,\"last_error\":%s,\"updated\":%s}",
            first ? "" : ",", json_string(key).c_str(), json_string(folder).c_str(),
            json_string(connection).c_str(),
            json_string(s.connection_since ? iso_time(s.connection_since) : "").c_str(),
            json_string(s.connection_error).c_str(), s.uidvalidity, s.last_uid,
            static_cast<long long>(s.processed), outcomes.c_str(), json_string(err).c_str(),
            json_string(iso_time(s.updated)).c_str());
      } else {
        std::string state = connection;
        if (s.connection_since) state += " since " + iso_time(s.connection_since);
        std::string detail;
        for (const auto& [name, n] : s.outcomes)
          detail += (detail.empty() ? "" : " ") + name + "=" + std::to_string(n);
        if (!err.empty()) detail += (detail.empty() ? "" : "  ") + std::string("error: ") + err;
        if (!s.connection_error.empty() && s.connection_error != err)
          detail += "  connection: " + s.connection_error;
        std::printf("%-32s %-16s %-28s %10u %8lld  %s\n", key.c_str(), folder.c_str(),
                    state.c_str(), s.last_uid, static_cast<long long>(s.processed),
                    detail.empty() ? "-" : detail.c_str());
      }
      first = false;
    }
  }
  if (json) std::printf("]}\n");
  return kOk;
}

}  // namespace

int cmd_imap(const Context& ctx) {
  if (ctx.args.size() != 1 || ctx.args[0] != "status") return usage_error("usage: imap status");
  auto cfg = load_config(ctx.config_path);
  if (!cfg) return fail(cfg.error().what());
  return status(*cfg, ctx.json);
}

}  // namespace sealpost::cli
