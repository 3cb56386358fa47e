// sealpost audit verify | report | prune: reads the chain(s) under
// <state_dir>/audit (and the portal's <state_dir>/portal-audit and the admin
// command's <state_dir>/admin-audit when present).
// verify and report only read; prune takes the writer lock, so it refuses to
// run while sealpostd holds the log (the daemon prunes by itself daily).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/audit_settings.h"
#include "audit/chain_files.h"
#include "audit/report.h"
#include "audit/verify.h"
#include "cli/commands.h"
#include "common/units.h"
#include "config/config.h"

namespace sealpost::cli {
namespace {

std::vector<std::filesystem::path> chain_dirs(const Config& cfg) {
  std::vector<std::filesystem::path> dirs{audit::relay_audit_dir(cfg.state_dir)};
  std::error_code ec;
  if (std::filesystem::is_directory(audit::portal_audit_dir(cfg.state_dir), ec))
    dirs.push_back(audit::portal_audit_dir(cfg.state_dir));
  if (std::filesystem::is_directory(audit::admin_audit_dir(cfg.state_dir), ec))
    dirs.push_back(audit::admin_audit_dir(cfg.state_dir));
  return dirs;
}

std::string json_escape(const std::string& s) {
  std::string out;
  audit::append_json_string(out, s);
  return out;
}

int verify(const Context& ctx) {
  if (ctx.args.size() != 1) return usage_error("audit verify takes no arguments");
  auto loaded = load_config(ctx.config_path);
  if (!loaded) return fail(loaded.error().what());
  const Config& cfg = *loaded;
  const auto dirs = chain_dirs(cfg);
  std::error_code ec;
  // A missing relay log is not "intact": someone removed the whole directory.
  if (!std::filesystem::is_directory(dirs.front(), ec))
    return fail("no audit log at " + dirs.front().string());
  std::uint64_t total = 0;
  std::string json_chains;
  for (const auto& dir : dirs) {
    const auto r = audit::verify_chain(dir);
    if (ctx.json) {
      json_chains += (json_chains.empty() ? "" : ",") + std::string("{\"dir\":") +
                     json_escape(dir.string()) + ",\"intact\":" + (r.intact ? "true" : "false") +
                     ",\"events\":" + std::to_string(r.events) +
                     ",\"head_seq\":" + std::to_string(r.head_seq) +
                     ",\"head_hash\":" + json_escape(r.head_hash) +
                     (r.intact ? "" : ",\"error\":" + json_escape(audit::describe(r))) + "}";
    }
    if (!r.intact) {
      if (ctx.json) std::printf("{\"intact\":false,\"chains\":[%s]}\n", json_chains.c_str());
      std::fprintf(stderr, "%s\n", audit::describe(r).c_str());
      return kFailure;
    }
    total += r.events;
  }
  if (ctx.json)
    std::printf("{\"intact\":true,\"events\":%llu,\"chains\":[%s]}\n",
                static_cast<unsigned long long>(total), json_chains.c_str());
  else
    std::printf("audit log intact (%llu events)\n", static_cast<unsigned long long>(total));
  return kOk;
}

int report(const Context& ctx) {
  audit::ReportWindow window;
  std::string format = ctx.json ? "json" : "md";
  for (std::size_t i = 1; i < ctx.args.size(); ++i) {
    const std::string& a = ctx.args[i];
    if (i + 1 >= ctx.args.size()) return usage_error("audit report: " + a + " needs a value");
    const std::string& v = ctx.args[++i];
    if (a == "--from" || a == "--to") {
      if (!audit::is_valid_day(v)) return usage_error(a + " wants a date like 2026-01-31");
      (a == "--from" ? window.from_day : window.to_day) = v;
    } else if (a == "--format") {
      if (v != "md" && v != "csv" && v != "json") return usage_error("--format is md, csv or json");
      format = v;
    } else {
      return usage_error("audit report: unknown option " + a);
    }
  }
  if (!window.from_day.empty() && !window.to_day.empty() && window.from_day > window.to_day)
    return usage_error("--from is after --to");
  auto cfg = load_config(ctx.config_path);
  if (!cfg) return fail(cfg.error().what());
  const auto r = audit::build_report(chain_dirs(*cfg), window);
  const std::string out = format == "json"  ? audit::render_json(r)
                          : format == "csv" ? audit::render_csv(r)
                                            : audit::render_markdown(r);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kOk;
}

int prune(const Context& ctx) {
  auto settings = audit::load_audit_settings(ctx.config_path);
  if (!settings) return fail(settings.error().what());
  std::optional<std::chrono::days> keep = settings->retention;
  if (ctx.args.size() == 3 && ctx.args[1] == "--keep") {
    auto d = parse_duration(ctx.args[2]);
    if (!d || *d < std::chrono::days(1)) return usage_error("--keep wants a duration like 365d");
    keep = std::chrono::duration_cast<std::chrono::days>(*d);
  } else if (ctx.args.size() != 1) {
    return usage_error("audit prune [--keep DURATION]");
  }
  auto cfg = load_config(ctx.config_path);
  if (!cfg) return fail(cfg.error().what());
  if (!keep) {
    std::puts("audit retention is 'forever'; nothing pruned");
    return kOk;
  }
  auto log = audit::AuditLog::open(audit::relay_audit_dir(cfg->state_dir));
  if (!log) return fail(log.error().what());
  auto removed = (*log)->prune(*keep);
  if (!removed) return fail(removed.error().what());
  std::printf("pruned %zu day file(s)\n", *removed);
  return kOk;
}

}  // namespace

int cmd_audit(const Context& ctx) {
  if (ctx.args.empty()) return usage_error("audit needs verify, report or prune");
  const std::string& verb = ctx.args[0];
  if (verb != "verify" && verb != "report" && verb != "prune")
    return usage_error("unknown audit verb '" + verb + "'");
  if (verb == "verify") return verify(ctx);
  if (verb == "report") return report(ctx);
  return prune(ctx);
}

}  // namespace sealpost::cli
