// sealpost consent add|revoke|list|import: the patients' consent registry in
// <state_dir>/sealpost.db (policy/consent_store.h). Passphrase hashes are never
// printed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/admin_audit.h"
#include "cli/commands.h"
#include "common/durable_file.h"
#include "config/config.h"
#include "policy/consent_csv.h"
#include "policy/consent_store.h"
#include "policy/pattern.h"
#include "policy/plan_json.h"
#include "portal/second_factor.h"

namespace sealpost::cli {
namespace {

using namespace sealpost::policy;

constexpr const char* kConsentUsage =
    "usage: sealpost consent add ADDR [--sms NUMBER] [--passphrase-file FILE] [--date YYYY-MM-DD]\n"
    "       sealpost consent revoke ADDR [--date YYYY-MM-DD]\n"
    "       sealpost consent list [--json]\n"
    "       sealpost consent import FILE.csv   (address,state,date[,sms]; never older over newer)";

std::string today_utc() {
  auto days = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  std::chrono::year_month_day ymd{days};
  auto padded = [](unsigned value, std::size_t width) {
    std::string digits = std::to_string(value);
    return std::string(width > digits.size() ? width - digits.size() : 0, '0') + digits;
  };
  std::string date = padded(static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  date += '-';
  date += padded(static_cast<unsigned>(ymd.month()), 2);
  date += '-';
  date += padded(static_cast<unsigned>(ymd.day()), 2);
  return date;
}

// Opens the store from the config; `create` also creates state_dir (0700).
Result<std::unique_ptr<ConsentStore>> open_store(const Context& ctx, bool create) {
  auto config = load_config(ctx.config_path);
  if (!config) return config.error();
  if (create) {
    std::error_code ec;
    if (!std::filesystem::exists(config->state_dir, ec)) {
      std::filesystem::create_directories(config->state_dir, ec);
      if (!ec)
        std::filesystem::permissions(config->state_dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace, ec);
      if (ec) return Error::plain(config->state_dir + ": " + ec.message());
    }
  }
  return open_sqlite_consent_store(state_db_path(config->state_dir), create);
}

// Parses "ADDR [--sms N] [--passphrase-file F] [--date D]" from args[1..];
// `allow_sms` (and the passphrase) for add only.
std::string parse_record(const std::vector<std::string>& args, bool allow_sms, ConsentRecord& r,
                         std::string* passphrase_file = nullptr) {
  if (args.size() < 2) return "missing ADDR";
  r.address = to_lower(args[1]);
  if (!is_plausible_address(r.address)) return "'" + args[1] + "' is not an e-mail address";
  r.date = today_utc();
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (i + 1 >= args.size()) return "option '" + args[i] + "' needs a value";
    const std::string& v = args[i + 1];
    if (args[i] == "--date") {
      if (!is_iso_date(v)) return "--date must be YYYY-MM-DD";
      if (is_future_date(v)) return "--date " + v + " is in the future";
      r.date = v;
    } else if (allow_sms && args[i] == "--sms") {
      if (!is_sms_number(v)) return "--sms must be digits, spaces and a leading +";
      r.sms_number = v;
    } else if (allow_sms && passphrase_file && args[i] == "--passphrase-file") {
      *passphrase_file = v;
    } else {
      return "unknown option '" + args[i] + "'";
    }
    ++i;
  }
  return {};
}

// The passphrase agreed with the patient (in person or by phone) for
// `auth: passphrase` pickups: read from a file, never from argv (ps shows
// argv), first line only, stored as an Argon2id hash.
Result<std::string> passphrase_hash_from(const std::string& file) {
  auto text = read_file(file, 4096);
  if (!text) return text.error();
  std::string line = text->substr(0, text->find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() < 8) return Error::plain(file + ": the passphrase needs at least 8 characters");
  auto hash = pickup::hash_passphrase(line);
  std::fill(line.begin(), line.end(), '\0');
  return hash;
}

int add(const Context& ctx) {
  ConsentRecord r;
  std::string passphrase_file;
  if (auto err = parse_record(ctx.args, true, r, &passphrase_file); !err.empty())
    return usage_error(err + "\n" + kConsentUsage);
  std::string new_hash;
  if (!passphrase_file.empty()) {
    auto h = passphrase_hash_from(passphrase_file);
    if (!h) return fail(h.error().what());
    new_hash = *h;
  }
  r.state = Consent::Granted;
  r.source = "cli";
  auto store = open_store(ctx, true);
  if (!store) return fail(store.error().what());
  // Keep a passphrase hash set earlier (e.g. by the portal) when re-granting.
  auto old = (*store)->get(r.address);
  if (!old) return fail(old.error().what());
  // A grant dated before what is on file (say, a revocation) would undo the
  // patient's newer decision.
  if (*old && r.date < (*old)->date)
    return fail("consent for " + r.address + " on record is " + consent_state_name((*old)->state) +
                " on " + (*old)->date + ", newer than " + r.date + "; nothing changed");
  if (*old) r.passphrase_hash = (*old)->passphrase_hash;
  if (!new_hash.empty()) r.passphrase_hash = new_hash;
  if (*old && r.sms_number.empty()) r.sms_number = (*old)->sms_number;
  if (auto w = (*store)->set(r); !w) return fail(w.error().what());
  std::printf("consent granted: %s (%s)%s\n", r.address.c_str(), r.date.c_str(),
              new_hash.empty() ? "" : ", pickup passphrase set");
  // The number and the passphrase are the patient's second factor: the trail
  // records that they were set, never what they are.
  return finish_with_audit(ctx.config_path, "consent.granted",
                           {{"recipient", r.address},
                            {"date", r.date},
                            {"sms_number_set", r.sms_number.empty() ? "no" : "yes"},
                            {"pickup_phrase_set", new_hash.empty() ? "no" : "yes"}});
}

int revoke(const Context& ctx) {
  ConsentRecord r;
  if (auto err = parse_record(ctx.args, false, r); !err.empty())
    return usage_error(err + "\n" + kConsentUsage);
  auto store = open_store(ctx, false);
  if (!store) return fail(store.error().what());
  if (auto w = (*store)->revoke(r.address, r.date, "cli"); !w) return fail(w.error().what());
  std::printf("consent revoked: %s (%s)\n", r.address.c_str(), r.date.c_str());
  return finish_with_audit(ctx.config_path, "consent.revoked",
                           {{"recipient", r.address}, {"date", r.date}});
}

int list(const Context& ctx) {
  if (ctx.args.size() != 1) return usage_error(kConsentUsage);
  auto config = load_config(ctx.config_path);
  if (!config) return fail(config.error().what());
  std::vector<ConsentRecord> records;
  const std::string db = state_db_path(config->state_dir);
  if (std::filesystem::exists(db)) {
    auto store = open_sqlite_consent_store(db, false);
    if (!store) return fail(store.error().what());
    auto all = (*store)->list();
    if (!all) return fail(all.error().what());
    records = std::move(*all);
  }
  if (ctx.json) {
    std::string out = "[";
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      out += (i ? ", " : "");
      out += "{\"address\": " + json_string(r.address) +
             ", \"state\": " + json_string(consent_state_name(r.state)) +
             ", \"date\": " + json_string(r.date) + ", \"source\": " + json_string(r.source) +
             ", \"sms_number\": " + json_string(r.sms_number) +
             ", \"passphrase_set\": " + (r.passphrase_hash.empty() ? "false" : "true") + "}";
    }
    std::printf("%s]\n", out.c_str());
    return kOk;
  }
  for (const auto& r : records)
    std::printf("%-40s %-8s %s  %s%s\n", r.address.c_str(), consent_state_name(r.state),
                r.date.c_str(), r.source.c_str(), r.sms_number.empty() ? "" : "  sms");
  return kOk;
}

int import(const Context& ctx) {
  if (ctx.args.size() != 2) return usage_error(kConsentUsage);
  const std::string& file = ctx.args[1];
  auto text = read_file(file, 64u << 20);
  if (!text) return fail(file + ": " + text.error().what());
  auto records =
      parse_consent_csv(*text, file, "import:" + std::filesystem::path(file).filename().string());
  if (!records) return fail(records.error().what() + " (nothing imported)");
  auto store = open_store(ctx, true);
  if (!store) return fail(store.error().what());
  std::vector<ConsentRecord> plain;
  plain.reserve(records->size());
  for (const auto& l : *records) plain.push_back(l.record);
  auto outcomes = (*store)->import_all(plain);
  if (!outcomes) return fail(outcomes.error().what() + " (nothing imported)");
  std::size_t added = 0, updated = 0, unchanged = 0, skipped = 0;
  for (std::size_t i = 0; i < outcomes->size(); ++i) {
    const auto& o = (*outcomes)[i];
    switch (o.action) {
      case ConsentMerge::Action::Add:
        ++added;
        break;
      case ConsentMerge::Action::Update:
        ++updated;
        break;
      case ConsentMerge::Action::Unchanged:
        ++unchanged;
        break;
      case ConsentMerge::Action::Skip:
        ++skipped;
        // Like a compiler warning: where, which record, why.
        (void)std::fprintf(stderr, "%s:%zu: skipped %s: %s\n", file.c_str(), (*records)[i].line,
                           (*records)[i].record.address.c_str(), o.reason.c_str());
        break;
    }
  }
  std::printf("consent import %s: %zu added, %zu updated, %zu unchanged, %zu skipped\n",
              file.c_str(), added, updated, unchanged, skipped);
  return finish_with_audit(ctx.config_path, "consent.imported",
                           {{"file", file},
                            {"count", std::to_string(added + updated)},
                            {"skipped", std::to_string(skipped)}});
}

}  // namespace

int cmd_consent(const Context& ctx) {
  if (ctx.args.empty()) return usage_error(kConsentUsage);
  const std::string& verb = ctx.args[0];
  if (verb == "add") return add(ctx);
  if (verb == "revoke") return revoke(ctx);
  if (verb == "list") return list(ctx);
  if (verb == "import") return import(ctx);
  return usage_error("unknown consent verb '" + verb + "'\n" + kConsentUsage);
}

}  // namespace sealpost::cli
