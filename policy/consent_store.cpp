// SQLite implementation of ConsentStore. Every handle is RAII-owned and every
// statement uses bound parameters (addresses come from CSV files and CLIs).
#include "policy/consent_store.h"

#include <fcntl.h>
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/unique_fd.h"
#include "policy/pattern.h"

namespace sealpost::policy {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS consent ("
    " address TEXT PRIMARY KEY NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('granted', 'revoked')),"
    " date TEXT NOT NULL,"
    " source TEXT NOT NULL DEFAULT '',"
    " sms_number TEXT NOT NULL DEFAULT '',"
    " passphrase_hash TEXT NOT NULL DEFAULT '')";

class SqliteConsentStore : public ConsentStore {
 public:
  explicit SqliteConsentStore(Db db) : db_(std::move(db)) {}

  Result<std::optional<ConsentRecord>> get(const std::string& address) override {
    auto stmt = prepare(
        "SELECT address, state, date, source, sms_number, passphrase_hash FROM consent "
        "WHERE address = ?1");
    if (!stmt) return stmt.error();
    bind(stmt->get(), 1, to_lower(address));
    int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return std::optional<ConsentRecord>();
    if (rc != SQLITE_ROW) return failure("read consent");
    return std::optional<ConsentRecord>(row(stmt->get()));
  }

  Result<void> set(const ConsentRecord& r) override {
    auto stmt = prepare(
        "INSERT OR REPLACE INTO consent (address, state, date, source, sms_number, "
        "passphrase_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!stmt) return stmt.error();
    bind(stmt->get(), 1, to_lower(r.address));
    bind(stmt->get(), 2,
         consent_state_name(r.state == Consent::Revoked ? Consent::Revoked : Consent::Granted));
    bind(stmt->get(), 3, r.date);
    bind(stmt->get(), 4, r.source);
    bind(stmt->get(), 5, r.sms_number);
    bind(stmt->get(), 6, r.passphrase_hash);
    if (sqlite3_step(stmt->get()) != SQLITE_DONE) return failure("write consent");
    return {};
  }

  Result<void> revoke(const std::string& address, const std::string& date,
                      const std::string& source) override {
    auto stmt =
        prepare("UPDATE consent SET state = 'revoked', date = ?2, source = ?3 WHERE address = ?1");
    if (!stmt) return stmt.error();
    bind(stmt->get(), 1, to_lower(address));
    bind(stmt->get(), 2, date);
    bind(stmt->get(), 3, source);
    if (sqlite3_step(stmt->get()) != SQLITE_DONE) return failure("revoke consent");
    if (sqlite3_changes(db_.get()) == 0)
      return Error::plain("no consent on record for " + to_lower(address));
    return {};
  }

  Result<std::vector<ConsentRecord>> list() override {
    auto stmt = prepare(
        "SELECT address, state, date, source, sms_number, passphrase_hash FROM consent "
        "ORDER BY address");
    if (!stmt) return stmt.error();
    std::vector<ConsentRecord> out;
    int rc;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) out.push_back(row(stmt->get()));
    if (rc != SQLITE_DONE) return failure("list consent");
    return out;
  }

  Result<std::vector<ConsentImportOutcome>> import_all(
      const std::vector<ConsentRecord>& records) override {
    // IMMEDIATE: the records on file cannot change between read and write
    // (the daemon only reads; another CLI run waits for the lock).
    if (auto r = exec("BEGIN IMMEDIATE"); !r) return r.error();
    std::vector<ConsentImportOutcome> outcomes;
    for (const auto& rec : records) {
      auto on_file = get(rec.address);
      if (!on_file) {
        (void)exec("ROLLBACK");
        return on_file.error();
      }
      ConsentMerge m = merge_consent(*on_file, rec);
      if (m.action == ConsentMerge::Action::Add || m.action == ConsentMerge::Action::Update) {
        if (auto w = set(m.result); !w) {
          (void)exec("ROLLBACK");
          return w.error();
        }
      }
      outcomes.push_back({m.action, m.reason});
    }
    if (auto r = exec("COMMIT"); !r) {
      (void)exec("ROLLBACK");
      return r.error();
    }
    return outcomes;
  }

  Result<void> exec(const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      return failure("consent database");
    return {};
  }

 private:
  Result<Stmt> prepare(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
      sqlite3_finalize(raw);
      return failure("prepare consent query");
    }
    return Stmt(raw);
  }

  static void bind(sqlite3_stmt* s, int index, const std::string& value) {
    sqlite3_bind_text(s, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }

  static std::string column(sqlite3_stmt* s, int i) {
    const auto* text = sqlite3_column_text(s, i);
    return text ? std::string(reinterpret_cast<const char*>(text),
                              static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
                : std::string();
  }

  static ConsentRecord row(sqlite3_stmt* s) {
    ConsentRecord r;
    r.address = column(s, 0);
    r.state = parse_consent_state(column(s, 1)).value_or(Consent::Unknown);
    r.date = column(s, 2);
    r.source = column(s, 3);
    r.sms_number = column(s, 4);
    r.passphrase_hash = column(s, 5);
    return r;
  }

  Error failure(const std::string& what) const {
    return Error::plain(what + ": " + sqlite3_errmsg(db_.get()));
  }

  Db db_;
};

bool digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

Result<std::unique_ptr<ConsentStore>> open_sqlite_consent_store(const std::string& db_path,
                                                                bool create) {
  if (!create && !std::filesystem::exists(db_path))
    return Error::plain(db_path + ": no consent database yet");
  // Consent records are personal data: the file is created owner-only.
  if (create && !std::filesystem::exists(db_path)) {
    UniqueFd fd(::open(db_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd && errno != EEXIST)
      return Error::plain(db_path + ": cannot create: " + std::strerror(errno));
  }
  sqlite3* raw = nullptr;
  // NOFOLLOW: the CLI may run as root on the state dir (no symlink games).
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW |
              (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(db_path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK)
    return Error::plain(db_path + ": " + (raw ? sqlite3_errmsg(raw) : "cannot open database"));
  // The daemon and the CLI share the file: wait for a writer instead of failing.
  sqlite3_busy_timeout(db.get(), 5000);
  auto store = std::make_unique<SqliteConsentStore>(std::move(db));
  if (auto r = store->exec(kSchema); !r) return Error::plain(db_path + ": " + r.error().what());
  return std::unique_ptr<ConsentStore>(std::move(store));
}

ConsentMerge merge_consent(const std::optional<ConsentRecord>& on_file,
                           const ConsentRecord& incoming) {
  using Action = ConsentMerge::Action;
  ConsentMerge m;
  m.result = incoming;
  m.result.address = to_lower(incoming.address);
  if (!on_file) {
    m.action = Action::Add;
    return m;
  }
  const ConsentRecord& old = *on_file;
  const std::string on_record = std::string(consent_state_name(old.state)) + " on " + old.date;
  // ISO dates (YYYY-MM-DD) compare correctly as strings.
  if (incoming.date < old.date) {
    m.reason = "on record: " + on_record + ", newer than this " +
               consent_state_name(incoming.state) + " of " + incoming.date;
    return m;
  }
  if (incoming.date == old.date && old.state == Consent::Revoked &&
      incoming.state != Consent::Revoked) {
    m.reason = "on record: " + on_record + "; a revocation on the same day is kept";
    return m;
  }
  m.result.passphrase_hash = old.passphrase_hash;
  if (m.result.sms_number.empty()) m.result.sms_number = old.sms_number;
  if (m.result.state == old.state && m.result.date == old.date &&
      m.result.sms_number == old.sms_number) {
    m.action = Action::Unchanged;
    m.reason = "already " + on_record;
    return m;
  }
  m.action = Action::Update;
  return m;
}

Result<std::map<std::string, Consent>> lookup_consent(ConsentStore& store,
                                                      const std::vector<std::string>& addresses) {
  std::map<std::string, Consent> out;
  for (const auto& a : addresses) {
    auto rec = store.get(a);
    if (!rec) return rec.error();
    if (*rec) out[to_lower(a)] = (*rec)->state;
  }
  return out;
}

const char* consent_state_name(Consent c) {
  switch (c) {
    case Consent::Granted:
      return "granted";
    case Consent::Revoked:
      return "revoked";
    case Consent::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<Consent> parse_consent_state(const std::string& word) {
  if (word == "granted") return Consent::Granted;
  if (word == "revoked") return Consent::Revoked;
  return std::nullopt;
}

bool is_plausible_address(const std::string& a) {
  if (a.size() < 3 || a.size() > 254) return false;
  auto at = a.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == a.size() ||
      a.find('@', at + 1) != std::string::npos)
    return false;
  for (char c : a)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == ',' || c == '<' || c == '>' ||
        c == '"')
      return false;
  return a.find('.', at) != std::string::npos;
}

bool is_iso_date(const std::string& d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!digit(d[i])) return false;
  int y = std::stoi(d.substr(0, 4)), m = std::stoi(d.substr(5, 2)), day = std::stoi(d.substr(8, 2));
  std::chrono::year_month_day ymd{std::chrono::year(y),
                                  std::chrono::month(static_cast<unsigned>(m)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  return y >= 1900 && ymd.ok();
}

bool is_future_date(const std::string& d, std::chrono::system_clock::time_point now) {
  // Later than today anywhere on Earth (UTC+14): a practice east of UTC may
  // record its own today, but no decision can be dated after it.
  const auto days = std::chrono::floor<std::chrono::days>(now + std::chrono::hours(14));
  const std::chrono::year_month_day ymd{days};
  char today[16];
  (void)std::snprintf(today, sizeof today, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return is_iso_date(d) && d > std::string(today);  // ISO dates compare as strings
}

bool is_sms_number(const std::string& n) {
  std::size_t digits = 0;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (digit(n[i]))
      ++digits;
    else if (!(n[i] == ' ' || (n[i] == '+' && i == 0)))
      return false;
  }
  return digits >= 5 && digits <= 20;
}

}  // namespace sealpost::policy
