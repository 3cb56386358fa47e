// sealpost imap status: per configured account and folder, the UIDVALIDITY and
// last UID the daemon has handled, how many messages, and the last error.
// Reads <state_dir>/sealpost.db (written by sealpostd's IMAP service).
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
    std::printf("%-40s %-20s %12s %10s %8s  %s\n", "ACCOUNT", "FOLDER", "UIDVALIDITY", "LAST_UID",
                "HANDLED", "LAST_ERROR");
  bool first = true;
  for (const auto& a : cfg.imap) {
    const std::string key = imap::account_key(a.username, a.host, a.port);
    for (const auto& folder : a.folders) {
      imap::FolderStatus s;
      auto it = known.find({key, folder});
      const bool polled = it != known.end();
      if (polled) s = it->second;
      const std::string err = polled ? s.last_error : "never polled";
      if (json) {
        std::printf(
            "%s{\"account\":%s,\"folder\":%s,\"uidvalidity\":%u,\"last_uid\":%u,"
            "\"handled\":%lld,\"last_error\":%s,\"updated\":%s}",
            first ? "" : ",", json_string(key).c_str(), json_string(folder).c_str(), s.uidvalidity,
            s.last_uid, static_cast<long long>(s.processed), json_string(err).c_str(),
            json_string(iso_time(s.updated)).c_str());
      } else {
        std::printf("%-40s %-20s %12u %10u %8lld  %s\n", key.c_str(), folder.c_str(), s.uidvalidity,
                    s.last_uid, static_cast<long long>(s.processed),
                    err.empty() ? "-" : err.c_str());
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
