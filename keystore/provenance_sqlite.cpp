// SQLite-backed ProvenanceStore. One connection guarded by a mutex: writes are
// rare (imports), reads happen once per lookup result and are cached upstream.
#include <sqlite3.h>
#include <sys/stat.h>

#include <mutex>

#include "keystore/provenance.h"

namespace sealpost::keystore {

namespace {

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

class SqliteProvenance final : public ProvenanceStore {
 public:
  explicit SqliteProvenance(DbPtr db) : db_(std::move(db)) {}

  Result<void> record(const Provenance& p) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "INSERT OR REPLACE INTO provenance(id, kind, source, added, origin, pending, approved,"
        " replaces, retired) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!st) return Error::plain("keystore.db: " + std::string(sqlite3_errmsg(db_.get())));
    sqlite3_bind_text(st.get(), 1, p.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st.get(), 2, p.kind.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st.get(), 3, p.source.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 4, p.added);
    sqlite3_bind_text(st.get(), 5, p.origin.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st.get(), 6, p.pending ? 1 : 0);
    sqlite3_bind_int(st.get(), 7, p.approved ? 1 : 0);
    sqlite3_bind_text(st.get(), 8, p.replaces.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st.get(), 9, p.retired.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.get()) != SQLITE_DONE)
      return Error::plain("keystore.db write: " + std::string(sqlite3_errmsg(db_.get())));
    return {};
  }

  std::optional<Provenance> find(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto st = prepare(
        "SELECT kind, source, added, origin, pending, approved, replaces, retired FROM provenance"
        " WHERE id = ?1");
    if (!st) return std::nullopt;
    sqlite3_bind_text(st.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.get()) != SQLITE_ROW) return std::nullopt;
    Provenance p;
    p.id = id;
    p.kind = column(st.get(), 0);
    p.source = column(st.get(), 1);
    p.added = sqlite3_column_int64(st.get(), 2);
    p.origin = column(st.get(), 3);
    p.pending = sqlite3_column_int(st.get(), 4) != 0;
    p.approved = sqlite3_column_int(st.get(), 5) != 0;
    p.replaces = column(st.get(), 6);
    p.retired = column(st.get(), 7);
    return p;
  }

  Result<void> forget(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto st = prepare("DELETE FROM provenance WHERE id = ?1");
    if (!st) return Error::plain("keystore.db: " + std::string(sqlite3_errmsg(db_.get())));
    sqlite3_bind_text(st.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.get()) != SQLITE_DONE)
      return Error::plain("keystore.db delete: " + std::string(sqlite3_errmsg(db_.get())));
    return {};
  }

 private:
  StmtPtr prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &st, nullptr) != SQLITE_OK) return nullptr;
    return StmtPtr(st);
  }
  static std::string column(sqlite3_stmt* st, int i) {
    const auto* t = sqlite3_column_text(st, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }

  std::mutex mu_;
  DbPtr db_;
};

// Databases from before harvest approval lack `pending`, those from before
// key changes `approved`, `replaces` and `retired`. The CLI and the daemon
// may both get here first: a concurrent ALTER that already added the column
// ("duplicate column") is success too.
Result<void> add_column(sqlite3* db, const std::string& name, const std::string& declaration) {
  bool present = false;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA table_info(provenance)", -1, &raw, nullptr) != SQLITE_OK)
    return Error::plain("keystore.db schema: " + std::string(sqlite3_errmsg(db)));
  StmtPtr st(raw);
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    const auto* col = sqlite3_column_text(st.get(), 1);
    if (col && name == reinterpret_cast<const char*>(col)) present = true;
  }
  if (present) return {};
  char* err = nullptr;
  const std::string sql = "ALTER TABLE provenance ADD COLUMN " + name + " " + declaration;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) return {};
  std::string msg = err ? err : "unknown error";
  sqlite3_free(err);
  if (msg.find("duplicate column") != std::string::npos) return {};
  return Error::plain("keystore.db schema: " + msg);
}

}  // namespace

Result<std::unique_ptr<ProvenanceStore>> open_sqlite_provenance(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX |
                          SQLITE_OPEN_NOFOLLOW,  // the CLI may run as root on the state dir
                      nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK)
    return Error::plain("cannot open " + path + ": " +
                        (raw ? sqlite3_errmsg(raw) : std::string("out of memory")));
  ::chmod(path.c_str(), 0600);
  sqlite3_busy_timeout(db.get(), 5000);  // the CLI and the daemon may both write
  char* err = nullptr;
  if (sqlite3_exec(db.get(),
                   "PRAGMA journal_mode=WAL;"
                   "CREATE TABLE IF NOT EXISTS provenance(id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
                   " source TEXT NOT NULL, added INTEGER NOT NULL, origin TEXT NOT NULL);",
                   nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error::plain("keystore.db schema: " + msg);
  }
  for (const auto& [name, declaration] : {std::pair{"pending", "INTEGER NOT NULL DEFAULT 0"},
                                          std::pair{"approved", "INTEGER NOT NULL DEFAULT 0"},
                                          std::pair{"replaces", "TEXT NOT NULL DEFAULT ''"},
                                          std::pair{"retired", "TEXT NOT NULL DEFAULT ''"}})
    if (auto r = add_column(db.get(), name, declaration); !r) return r.error();
  return std::unique_ptr<ProvenanceStore>(std::make_unique<SqliteProvenance>(std::move(db)));
}

Result<bool> retire(ProvenanceStore& store, const std::string& id, const std::string& reason) {
  auto p = store.find(id);
  if (!p || p->source != "harvested" || !p->retired.empty()) return false;
  p->retired = reason;
  p->pending = false;  // a retired key is not waiting for anything any more
  if (auto r = store.record(*p); !r) return r.error();
  return true;
}

std::vector<std::string> replaced_ids(const Provenance& p) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < p.replaces.size()) {
    std::size_t comma = p.replaces.find(',', pos);
    if (comma == std::string::npos) comma = p.replaces.size();
    if (comma > pos) out.push_back(p.replaces.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

}  // namespace sealpost::keystore
