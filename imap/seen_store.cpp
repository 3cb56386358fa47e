#include "imap/seen_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <mutex>

namespace sealpost::imap {
namespace {

struct DbFree {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtFree {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbFree>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFree>;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS imap_seen("
    " account TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL,"
    " uid INTEGER NOT NULL, outcome TEXT NOT NULL, at INTEGER NOT NULL,"
    " PRIMARY KEY(account, folder, uidvalidity, uid));"
    "CREATE TABLE IF NOT EXISTS imap_status("
    " account TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL,"
    " last_error TEXT NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY(account, folder));"
    "CREATE TABLE IF NOT EXISTS imap_connection("
    " account TEXT NOT NULL, folder TEXT NOT NULL, state TEXT NOT NULL, since INTEGER NOT NULL,"
    " error TEXT NOT NULL, PRIMARY KEY(account, folder));"
    "CREATE TABLE IF NOT EXISTS imap_append_refused("
    " account TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL,"
    " uid INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(account, folder, uidvalidity,"
    " uid));";

constexpr const char* kAppending = "appending:";
constexpr const char* kAppended = "appended:";

class SqliteSeen final : public SeenStore {
 public:
  explicit SqliteSeen(DbPtr db) : db_(std::move(db)) {}

  Result<bool> claim(const std::string& account, const std::string& folder, std::uint32_t uv,
                     std::uint32_t uid) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "INSERT OR IGNORE INTO imap_seen(account, folder, uidvalidity, uid, outcome, at) "
        "VALUES(?1, ?2, ?3, ?4, 'claimed', ?5)");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, uv, uid);
    sqlite3_bind_int64(st.get(), 5, now_seconds());
    if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error();
    return sqlite3_changes(db_.get()) == 1;
  }

  Result<void> release(const std::string& account, const std::string& folder, std::uint32_t uv,
                       std::uint32_t uid) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "DELETE FROM imap_seen WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3 AND "
        "uid = ?4 AND outcome = 'claimed'");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, uv, uid);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error();
    return {};
  }

  Result<int> release_all_claims() override {
    std::lock_guard lock(mu_);
    auto st = prepare("DELETE FROM imap_seen WHERE outcome = 'claimed'");
    if (!st) return db_error();
    if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error();
    return sqlite3_changes(db_.get());
  }

  Result<void> mark_appending(const std::string& account, const std::string& folder,
                              std::uint32_t uv, std::uint32_t uid,
                              const std::string& outcome) override {
    return set_outcome(account, folder, uv, uid, kAppending + outcome);
  }

  Result<void> mark_appended(const std::string& account, const std::string& folder,
                             std::uint32_t uv, std::uint32_t uid,
                             const std::string& outcome) override {
    return set_outcome(account, folder, uv, uid, kAppended + outcome);
  }

  Result<std::vector<UnfinishedMessage>> unfinished(const std::string& account,
                                                    const std::string& folder,
                                                    std::uint32_t uv) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "SELECT uid, outcome FROM imap_seen WHERE account = ?1 AND folder = ?2 AND "
        "uidvalidity = ?3 AND (outcome LIKE 'appending:%' OR outcome LIKE 'appended:%') "
        "ORDER BY uid");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, uv, 0);
    std::vector<UnfinishedMessage> out;
    while (sqlite3_step(st.get()) == SQLITE_ROW) {
      UnfinishedMessage m;
      m.uid = static_cast<std::uint32_t>(sqlite3_column_int64(st.get(), 0));
      const std::string state = text(st.get(), 1);
      m.appended = state.rfind(kAppended, 0) == 0;
      m.outcome = state.substr(state.find(':') + 1);
      out.push_back(std::move(m));
    }
    return out;
  }

  Result<void> forget(const std::string& account, const std::string& folder, std::uint32_t uv,
                      std::uint32_t uid) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "DELETE FROM imap_seen WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3 AND "
        "uid = ?4 AND outcome LIKE 'appending:%'");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, uv, uid);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error();
    return {};
  }

  Result<int> count_append_refusal(const std::string& account, const std::string& folder,
                                   std::uint32_t uv, std::uint32_t uid) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "INSERT INTO imap_append_refused(account, folder, uidvalidity, uid, count) "
        "VALUES(?1, ?2, ?3, ?4, 1) ON CONFLICT(account, folder, uidvalidity, uid) DO UPDATE SET "
        "count = count + 1 RETURNING count");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, uv, uid);
    if (sqlite3_step(st.get()) != SQLITE_ROW) return db_error();
    const int n = sqlite3_column_int(st.get(), 0);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error();
    return n;
  }

  Result<void> finish(const std::string& account, const std::string& folder, std::uint32_t uv,
                      std::uint32_t uid, const std::string& outcome) override {
    return set_outcome(account, folder, uv, uid, outcome);
  }

  Result<std::uint32_t> last_uid(const std::string& account, const std::string& folder,
                                 std::uint32_t uv) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "SELECT COALESCE(MAX(uid), 0) FROM imap_seen WHERE account = ?1 AND folder = ?2 AND "
        "uidvalidity = ?3");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, uv, 0);
    if (sqlite3_step(st.get()) != SQLITE_ROW) return db_error();
    return static_cast<std::uint32_t>(sqlite3_column_int64(st.get(), 0));
  }

  Result<void> set_status(const std::string& account, const std::string& folder, std::uint32_t uv,
                          const std::string& last_error) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "INSERT INTO imap_status(account, folder, uidvalidity, last_error, updated) "
        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(account, folder) DO UPDATE SET "
        // An error before SELECT knows no UIDVALIDITY: keep the last one seen.
        "uidvalidity = CASE WHEN excluded.uidvalidity = 0 THEN uidvalidity "
        "ELSE excluded.uidvalidity END, last_error = excluded.last_error, "
        "updated = excluded.updated");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, uv, 0);
    sqlite3_bind_text(st.get(), 4, last_error.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 5, now_seconds());
    if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error();
    return {};
  }

  Result<void> set_connection(const std::string& account, const std::string& folder,
                              const std::string& state, const std::string& error) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "INSERT INTO imap_connection(account, folder, state, since, error) "
        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(account, folder) DO UPDATE SET "
        "since = CASE WHEN state = excluded.state THEN since ELSE excluded.since END, "
        "state = excluded.state, error = excluded.error");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, 0, 0);
    sqlite3_bind_text(st.get(), 3, state.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 4, now_seconds());
    sqlite3_bind_text(st.get(), 5, error.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error();
    return {};
  }

  Result<std::vector<FolderStatus>> status() override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "SELECT s.account, s.folder, s.uidvalidity, s.last_error, s.updated,"
        " (SELECT COALESCE(MAX(uid), 0) FROM imap_seen k WHERE k.account = s.account AND"
        "  k.folder = s.folder AND k.uidvalidity = s.uidvalidity),"
        " (SELECT COUNT(*) FROM imap_seen k WHERE k.account = s.account AND"
        "  k.folder = s.folder AND k.uidvalidity = s.uidvalidity),"
        " COALESCE(c.state, ''), COALESCE(c.since, 0), COALESCE(c.error, '')"
        " FROM imap_status s LEFT JOIN imap_connection c ON c.account = s.account AND"
        " c.folder = s.folder ORDER BY s.account, s.folder");
    if (!st) return db_error();
    std::vector<FolderStatus> out;
    while (sqlite3_step(st.get()) == SQLITE_ROW) {
      FolderStatus f;
      f.account = text(st.get(), 0);
      f.folder = text(st.get(), 1);
      f.uidvalidity = static_cast<std::uint32_t>(sqlite3_column_int64(st.get(), 2));
      f.last_error = text(st.get(), 3);
      f.updated = sqlite3_column_int64(st.get(), 4);
      f.last_uid = static_cast<std::uint32_t>(sqlite3_column_int64(st.get(), 5));
      f.processed = sqlite3_column_int64(st.get(), 6);
      f.connection = text(st.get(), 7);
      f.connection_since = sqlite3_column_int64(st.get(), 8);
      f.connection_error = text(st.get(), 9);
      out.push_back(std::move(f));
    }
    for (auto& f : out) {
      auto counts = prepare(
          "SELECT outcome, COUNT(*) FROM imap_seen WHERE account = ?1 AND folder = ?2 AND "
          "uidvalidity = ?3 GROUP BY outcome ORDER BY outcome");
      if (!counts) return db_error();
      bind_key(counts.get(), f.account, f.folder, f.uidvalidity, 0);
      while (sqlite3_step(counts.get()) == SQLITE_ROW)
        f.outcomes[text(counts.get(), 0)] = sqlite3_column_int64(counts.get(), 1);
    }
    return out;
  }

 private:
  Result<void> set_outcome(const std::string& account, const std::string& folder, std::uint32_t uv,
                           std::uint32_t uid, const std::string& outcome) {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "UPDATE imap_seen SET outcome = ?5, at = ?6 WHERE account = ?1 AND folder = ?2 AND "
        "uidvalidity = ?3 AND uid = ?4");
    if (!st) return db_error();
    bind_key(st.get(), account, folder, uv, uid);
    sqlite3_bind_text(st.get(), 5, outcome.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 6, now_seconds());
    if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error();
    if (sqlite3_changes(db_.get()) != 1)
      return Error::plain("sealpost.db: no claim for UID " + std::to_string(uid));
    return {};
  }

  StmtPtr prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &s, nullptr) != SQLITE_OK) return nullptr;
    return StmtPtr(s);
  }
  static void bind_key(sqlite3_stmt* st, const std::string& account, const std::string& folder,
                       std::uint32_t uv, std::uint32_t uid) {
    sqlite3_bind_text(st, 1, account.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, folder.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, uv);
    if (uid) sqlite3_bind_int64(st, 4, uid);
  }
  static std::string text(sqlite3_stmt* st, int col) {
    const auto* p = sqlite3_column_text(st, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  Error db_error() const {
    return Error::plain("sealpost.db: " + std::string(sqlite3_errmsg(db_.get())));
  }

  std::mutex mu_;
  DbPtr db_;
};

}  // namespace

std::string account_key(const std::string& username, const std::string& host, std::uint16_t port) {
  return username + "@" + host + ":" + std::to_string(port);
}

Result<std::unique_ptr<SeenStore>> open_sqlite_seen(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      // NOFOLLOW: the CLI may run as root on the state dir.
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK)
    return Error::plain("cannot open " + path + ": " + (raw ? sqlite3_errmsg(raw) : "no memory"));
  ::chmod(path.c_str(), 0600);
  // Other modules share this file; wait for their writes instead of failing.
  sqlite3_busy_timeout(db.get(), 5000);
  char* err = nullptr;
  if (sqlite3_exec(db.get(), kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string reason = err ? err : "schema";
    sqlite3_free(err);
    return Error::plain(path + ": " + reason);
  }
  return std::unique_ptr<SeenStore>(new SqliteSeen(std::move(db)));
}

}  // namespace sealpost::imap
