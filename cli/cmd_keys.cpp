// `sealpost keys import FILE... [--passphrase-file F] | list | locate ADDRESS |
//  remove ID | remove --signer | approve ID`
// Works on the same keystore (<state_dir>/gnupg, certs/, private/, keystore.db)
// that the daemon uses; the daemon notices changes without a restart.
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "cli/admin_audit.h"
#include "cli/commands.h"
#include "common/durable_file.h"
#include "config/config.h"
#include "keystore/keystore.h"
#include "policy/plan_json.h"

namespace sealpost::cli {

namespace {

using policy::json_string;

std::string day(std::int64_t t) {
  if (t <= 0) return "never";
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_string(v[i]);
  return out + "]";
}

std::string source_json(const keystore::Provenance& p) {
  return "{\"source\":" + json_string(p.source) + ",\"added\":" + std::to_string(p.added) +
         ",\"origin\":" + json_string(p.origin) + ",\"pending\":" + (p.pending ? "true" : "false") +
         ",\"approved\":" + (p.approved ? "true" : "false") +
         ",\"replaces\":" + json_string(p.replaces) + ",\"retired\":" + json_string(p.retired) +
         "}";
}

// "harvested" or "harvested, pending approval": the source column of the text output.
std::string source_text(const keystore::Provenance& p) {
  if (!p.retired.empty()) return p.source + ", retired";
  if (p.pending) return p.source + ", pending approval";
  return p.approved ? p.source + ", approved" : p.source;
}

// A harvested key or certificate held back by `imap[].harvest: approve` (or a
// key change under `imap[].key_change: approve`) is released; what it was,
// where it came from and which earlier keys it retires is printed, so the
// admin sees what they vouched for.
int do_approve(keystore::Keystore& ks, const std::string& id, bool json,
               const std::string& config_path) {
  auto a = ks.approve(id);
  if (!a) return fail(a.error().what());
  const keystore::Provenance& p = a->key;
  if (json) {
    std::printf("{\"id\":%s,\"kind\":%s,\"provenance\":%s,\"retired\":%s}\n",
                json_string(p.id).c_str(), json_string(p.kind).c_str(), source_json(p).c_str(),
                json_list(a->retired).c_str());
  } else {
    std::printf("approved %s %s (harvested %s, %s)\n", p.kind.c_str(), p.id.c_str(),
                day(p.added).c_str(), p.origin.c_str());
    for (const auto& old : a->retired)
      std::printf("retired %s (replaced by %s)\n", old.c_str(), p.id.c_str());
  }
  std::string retired;
  for (const auto& old : a->retired) retired += (retired.empty() ? "" : ",") + old;
  return finish_with_audit(
      config_path, "keys.approved",
      {{"kind", p.kind}, {"key", p.id}, {"source", p.origin}, {"retired", retired}});
}

// `keys remove ID` or `keys remove --signer` (the practice's S/MIME identity).
int do_remove(keystore::Keystore& ks, const std::string& arg, const std::string& config_path) {
  if (arg == "--signer") {
    auto p = ks.remove_smime_signer();
    if (!p) return fail(p.error().what());
    std::printf("removed smime-signer %s\n", p->id.c_str());
    return finish_with_audit(config_path, "keys.removed",
                             {{"kind", "smime-signer"}, {"key", p->id}});
  }
  auto r = ks.remove(arg);
  if (!r) return fail(r.error().what());
  std::printf("removed %s\n", arg.c_str());
  return finish_with_audit(config_path, "keys.removed", {{"key", arg}});
}

int do_import(keystore::Keystore& ks, const std::vector<std::string>& args, bool json,
              const std::string& config_path) {
  std::vector<std::string> files;
  std::string passphrase;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--passphrase-file") {
      if (++i >= args.size()) return usage_error("--passphrase-file needs a FILE");
      auto p = read_file(args[i], 4096);
      if (!p) return fail(p.error().what());
      passphrase = *p;
      while (!passphrase.empty() && (passphrase.back() == '\n' || passphrase.back() == '\r'))
        passphrase.pop_back();
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) return usage_error("keys import needs at least one FILE");
  std::string out = "[";
  int rc = kOk;
  for (const auto& f : files) {
    auto r = ks.import_file(f, passphrase);
    if (!r) return fail(f + ": " + r.error().what());
    for (const auto& item : *r) {
      if (finish_with_audit(config_path, "keys.imported",
                            {{"kind", item.kind}, {"key", item.id}, {"file", f}}) != kOk)
        rc = kFailure;
      if (json)
        out += std::string(out.size() > 1 ? "," : "") + "{\"file\":" + json_string(f) +
               ",\"kind\":" + json_string(item.kind) + ",\"id\":" + json_string(item.id) +
               ",\"description\":" + json_string(item.description) + "}";
      else
        std::printf("imported %s %s %s\n", item.kind.c_str(), item.id.c_str(),
                    item.description.c_str());
    }
  }
  if (json) std::printf("%s]\n", out.c_str());
  return rc;
}

int do_list(keystore::Keystore& ks, bool json) {
  auto keys = ks.list();
  if (!keys) return fail(keys.error().what());
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const auto& k : *keys) {
    if (json) {
      out += std::string(first ? "" : ",") + "{\"kind\":" + json_string(k.kind) +
             ",\"id\":" + json_string(k.id) + ",\"description\":" + json_string(k.description) +
             ",\"addresses\":" + json_list(k.addresses) + ",\"serial\":" + json_string(k.serial) +
             ",\"expires\":" + std::to_string(k.expires) +
             ",\"secret\":" + (k.secret ? "true" : "false") +
             ",\"usable\":" + (k.usable ? "true" : "false") +
             ",\"problem\":" + json_string(k.problem) + ",\"provenance\":" + source_json(k.source) +
             "}";
      first = false;
    } else {
      std::printf("%-12s %s  %s  expires %s  %s%s  [%s %s]\n", k.kind.c_str(), k.id.c_str(),
                  k.description.c_str(), day(k.expires).c_str(),
                  k.usable ? "usable" : "UNUSABLE: ", k.problem.c_str(),
                  source_text(k.source).c_str(), k.source.origin.c_str());
    }
  }
  if (json) std::printf("%s]}\n", out.c_str());
  return kOk;
}

int do_locate(keystore::Keystore& ks, const std::string& address, bool json) {
  auto found = ks.lookup(address);
  if (!found) return fail(found.error().what());
  const bool any = !found->pgp.empty() || !found->smime.empty();
  if (json) {
    std::string out = "{\"address\":" + json_string(address) + ",\"pgp\":[";
    for (std::size_t i = 0; i < found->pgp.size(); ++i) {
      const auto& k = found->pgp[i];
      out += std::string(i ? "," : "") + "{\"fingerprint\":" + json_string(k.fingerprint) +
             ",\"uid\":" + json_string(k.uid) + ",\"expires\":" + std::to_string(k.expires) +
             ",\"provenance\":" + source_json(k.source) + "}";
    }
    out += "],\"smime\":[";
    for (std::size_t i = 0; i < found->smime.size(); ++i) {
      const auto& c = found->smime[i];
      out += std::string(i ? "," : "") + "{\"id\":" + json_string(c.id) +
             ",\"serial\":" + json_string(c.serial) + ",\"subject\":" + json_string(c.subject) +
             ",\"not_after\":" + std::to_string(c.not_after) +
             ",\"provenance\":" + source_json(c.source) + "}";
    }
    out += "],\"rejected\":[";
    for (std::size_t i = 0; i < found->rejected.size(); ++i) {
      const auto& r = found->rejected[i];
      out += std::string(i ? "," : "") + "{\"kind\":" + json_string(r.kind) +
             ",\"id\":" + json_string(r.id) + ",\"reason\":" + json_string(r.reason) + "}";
    }
    std::printf("%s]}\n", out.c_str());
  } else {
    for (const auto& k : found->pgp)
      std::printf("pgp   %s  %s  expires %s  [%s]\n", k.fingerprint.c_str(), k.uid.c_str(),
                  day(k.expires).c_str(), k.source.source.c_str());
    for (const auto& c : found->smime)
      std::printf("smime serial %s  %s  until %s  [%s]\n", c.serial.c_str(), c.subject.c_str(),
                  day(c.not_after).c_str(), c.source.source.c_str());
    for (const auto& r : found->rejected)
      std::printf("refused %s %s: %s\n", r.kind.c_str(), r.id.c_str(), r.reason.c_str());
  }
  if (!any) return fail("no usable key or certificate for " + address);
  return kOk;
}

}  // namespace

int cmd_keys(const Context& ctx) {
  if (ctx.args.empty()) return usage_error("keys needs import, list, locate, remove or approve");
  const std::string& sub = ctx.args[0];
  if ((sub == "locate" || sub == "remove" || sub == "approve") && ctx.args.size() != 2)
    return usage_error("keys " + sub + " needs exactly one argument");
  if (sub == "list" && ctx.args.size() != 1) return usage_error("keys list takes no arguments");
  if (sub != "import" && sub != "list" && sub != "locate" && sub != "remove" && sub != "approve")
    return usage_error("unknown keys verb '" + sub + "'");
  auto config = load_config(ctx.config_path);
  if (!config) return fail(config.error().what());
  auto ks = keystore::Keystore::open(*config);
  if (!ks) return fail(ks.error().what());
  if (sub == "import") return do_import(**ks, ctx.args, ctx.json, ctx.config_path);
  if (sub == "list") return do_list(**ks, ctx.json);
  if (sub == "locate") return do_locate(**ks, ctx.args[1], ctx.json);
  if (sub == "approve") return do_approve(**ks, ctx.args[1], ctx.json, ctx.config_path);
  return do_remove(**ks, ctx.args[1], ctx.config_path);
}

}  // namespace sealpost::cli
