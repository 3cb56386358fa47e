#include "portal/sqlite_pickup_index.h"

#include <sys/stat.h>

#include <initializer_list>
#include <variant>

#include "common/log.h"

namespace sealpost::pickup {
namespace {

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Binary values (verifier, wrapped key, code hash) are bound as BLOB, text as TEXT:
// SQLite never compares a BLOB equal to a TEXT literal, so the two must not mix.
struct Blob {
  const std::string& bytes;
};
using Param = std::variant<std::int64_t, std::string, Blob>;

Error db_error(sqlite3* db, const char* what) {
  return Error::temp("4.3.0", "pickup store unavailable",
                     std::string("pickup index: ") + what + ": " + sqlite3_errmsg(db));
}

Result<Stmt> prepare(sqlite3* db, const char* sql, std::initializer_list<Param> params) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return db_error(db, "prepare");
  Stmt stmt(raw);
  int i = 1;
  for (const auto& p : params) {
    int rc;
    if (const auto* n = std::get_if<std::int64_t>(&p)) {
      rc = sqlite3_bind_int64(raw, i, *n);
    } else if (const auto* b = std::get_if<Blob>(&p)) {
      rc = b->bytes.empty()
               ? sqlite3_bind_null(raw, i)
               : sqlite3_bind_blob(raw, i, b->bytes.data(), static_cast<int>(b->bytes.size()),
                                   SQLITE_TRANSIENT);
    } else {
      const auto& s = std::get<std::string>(p);
      rc = sqlite3_bind_text(raw, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) return db_error(db, "bind");
    ++i;
  }
  return stmt;
}

std::string column_string(sqlite3_stmt* s, int col) {
  const void* p = sqlite3_column_blob(s, col);
  int n = sqlite3_column_bytes(s, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

Result<void> run(sqlite3* db, const char* sql, std::initializer_list<Param> params) {
  auto stmt = prepare(db, sql, params);
  if (!stmt) return stmt.error();
  if (sqlite3_step(stmt->get()) != SQLITE_DONE) return db_error(db, "step");
  return {};
}

constexpr const char* kColumns =
    "id, recipient, sender, created, expires, auth_method, attempts, state, picked_up, "
    "verifier, wrapped_key";

PickupRecord read_row(sqlite3_stmt* s) {
  PickupRecord r;
  r.id = column_string(s, 0);
  r.recipient = column_string(s, 1);
  r.sender = column_string(s, 2);
  r.created = sqlite3_column_int64(s, 3);
  r.expires = sqlite3_column_int64(s, 4);
  r.auth_method = column_string(s, 5);
  r.attempts = sqlite3_column_int(s, 6);
  r.state = state_from_string(column_string(s, 7)).value_or(State::Locked);  // unknown: fail closed
  r.picked_up = sqlite3_column_int64(s, 8);
  r.verifier = column_string(s, 9);
  r.wrapped_key = column_string(s, 10);
  return r;
}

}  // namespace

const char* to_string(State s) {
  switch (s) {
    case State::Active:
      return "active";
    case State::Locked:
      return "locked";
    case State::Revoked:
      return "revoked";
    case State::Expired:
      return "expired";
  }
  return "locked";
}

std::optional<State> state_from_string(std::string_view s) {
  for (State st : {State::Active, State::Locked, State::Revoked, State::Expired})
    if (s == to_string(st)) return st;
  return std::nullopt;
}

Result<std::unique_ptr<SqlitePickupIndex>> SqlitePickupIndex::open(const std::string& path,
                                                                   bool group_shared) {
  sqlite3* raw = nullptr;
  // The database file has its final mode from its first byte; SQLite gives
  // the -wal/-shm files the mode of the database file.
  const mode_t old = ::umask(group_shared ? 007 : 077);
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX |
                               // The CLI may run as root here: a symlink planted in pickup/
                               // must not make it write (or chmod) another file.
                               SQLITE_OPEN_NOFOLLOW,
                           nullptr);
  ::umask(old);
  std::unique_ptr<SqlitePickupIndex> idx(new SqlitePickupIndex(raw));
  if (rc != SQLITE_OK) return db_error(raw, "open");
  // SQLite creates files 0644 & ~umask; make it exact before the WAL exists
  // (which copies this mode). Fails harmlessly for the non-owning user.
  ::chmod(path.c_str(), group_shared ? 0660 : 0600);
  sqlite3_busy_timeout(raw, 5000);
  for (const char* sql : {
           "PRAGMA journal_mode=WAL",
           "PRAGMA synchronous=FULL",
           "PRAGMA secure_delete=ON",  // shredded key material is overwritten, not just unlinked
           "CREATE TABLE IF NOT EXISTS pickups (id TEXT PRIMARY KEY, recipient TEXT NOT NULL, "
           "sender TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL, "
           "auth_method TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, "
           "picked_up INTEGER NOT NULL DEFAULT 0, verifier BLOB, wrapped_key BLOB)",
           "CREATE TABLE IF NOT EXISTS codes (id TEXT PRIMARY KEY, hash BLOB NOT NULL, "
           "expires INTEGER NOT NULL)",
           "CREATE TABLE IF NOT EXISTS portal_passwords (recipient TEXT PRIMARY KEY, "
           "hash TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, set_at INTEGER NOT NULL)",
       }) {
    if (auto r = idx->exec(sql); !r) return r.error();
  }
  return idx;
}

Result<void> SqlitePickupIndex::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string reason = msg ? msg : "unknown";
    sqlite3_free(msg);
    return Error::temp("4.3.0", "pickup store unavailable", "pickup index: " + reason);
  }
  return {};
}

Result<void> SqlitePickupIndex::insert(const PickupRecord& r) {
  std::lock_guard lock(mu_);
  return run(
      db_.get(),
      "INSERT INTO pickups (id, recipient, sender, created, expires, auth_method, attempts, "
      "state, picked_up, verifier, wrapped_key) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      {r.id, r.recipient, r.sender, r.created, r.expires, r.auth_method, std::int64_t{r.attempts},
       std::string(to_string(r.state)), r.picked_up, Blob{r.verifier}, Blob{r.wrapped_key}});
}

Result<std::optional<PickupRecord>> SqlitePickupIndex::find(const std::string& id) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kColumns + " FROM pickups WHERE id = ?";
  auto stmt = prepare(db_.get(), sql.c_str(), {id});
  if (!stmt) return stmt.error();
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_DONE) return std::optional<PickupRecord>();
  if (rc != SQLITE_ROW) return db_error(db_.get(), "find");
  return std::optional<PickupRecord>(read_row(stmt->get()));
}

Result<std::vector<PickupRecord>> SqlitePickupIndex::list() {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kColumns + " FROM pickups ORDER BY created, id";
  auto stmt = prepare(db_.get(), sql.c_str(), {});
  if (!stmt) return stmt.error();
  std::vector<PickupRecord> out;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) out.push_back(read_row(stmt->get()));
  if (rc != SQLITE_DONE) return db_error(db_.get(), "list");
  return out;
}

Result<void> SqlitePickupIndex::set_state(const std::string& id, State s) {
  std::lock_guard lock(mu_);
  return run(db_.get(), "UPDATE pickups SET state = ? WHERE id = ?",
             {std::string(to_string(s)), id});
}

template <class T, class F>
Result<T> SqlitePickupIndex::transaction(F&& body) {
  // IMMEDIATE: the write lock is taken before the first read, so no other
  // process (relay, CLI) can slip an update between a check and its count.
  if (auto r = exec("BEGIN IMMEDIATE"); !r) return r.error();
  Result<T> result = body();
  if (!result) {
    (void)exec("ROLLBACK");
    return result;
  }
  if (auto r = exec("COMMIT"); !r) {
    (void)exec("ROLLBACK");
    return r.error();
  }
  return result;
}

Result<AttemptSlot> SqlitePickupIndex::begin_attempt(const std::string& id, int max_attempts) {
  std::lock_guard lock(mu_);
  return transaction<AttemptSlot>([&]() -> Result<AttemptSlot> {
    auto stmt = prepare(db_.get(), "SELECT attempts, state FROM pickups WHERE id = ?", {id});
    if (!stmt) return stmt.error();
    const int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return AttemptSlot{};
    if (rc != SQLITE_ROW) return db_error(db_.get(), "begin_attempt");
    AttemptSlot slot;
    slot.attempts = sqlite3_column_int(stmt->get(), 0);
    const auto state = state_from_string(column_string(stmt->get(), 1)).value_or(State::Locked);
    stmt->reset();
    if (state != State::Active) return slot;
    if (slot.attempts >= max_attempts) {
      auto locked = lock_locked(id);
      if (!locked) return locked.error();
      slot.newly_locked = *locked;
      return slot;
    }
    if (auto r = run(db_.get(), "UPDATE pickups SET attempts = attempts + 1 WHERE id = ?", {id});
        !r)
      return r.error();
    slot.granted = true;
    ++slot.attempts;
    return slot;
  });
}

Result<void> SqlitePickupIndex::refund_attempt(const std::string& id) {
  std::lock_guard lock(mu_);
  return run(db_.get(), "UPDATE pickups SET attempts = attempts - 1 WHERE id = ? AND attempts > 0",
             {id});
}

Result<bool> SqlitePickupIndex::lock(const std::string& id) {
  std::lock_guard guard(mu_);
  return lock_locked(id);
}

Result<bool> SqlitePickupIndex::lock_locked(const std::string& id) {
  if (auto r = run(db_.get(), "DELETE FROM codes WHERE id = ?", {id}); !r) return r.error();
  if (auto r = run(db_.get(),
                   "UPDATE pickups SET state = 'locked' WHERE id = ? AND state = 'active'", {id});
      !r)
    return r.error();
  return sqlite3_changes(db_.get()) == 1;
}

Result<bool> SqlitePickupIndex::mark_picked_up(const std::string& id, std::int64_t when) {
  std::lock_guard lock(mu_);
  if (auto r = run(db_.get(), "UPDATE pickups SET picked_up = ? WHERE id = ? AND picked_up = 0",
                   {when, id});
      !r)
    return r.error();
  return sqlite3_changes(db_.get()) == 1;
}

Result<void> SqlitePickupIndex::shred(const std::string& id, State final_state) {
  std::lock_guard lock(mu_);
  if (auto r = run(db_.get(), "DELETE FROM codes WHERE id = ?", {id}); !r) return r;
  if (auto r = run(db_.get(), "UPDATE pickups SET wrapped_key = NULL, state = ? WHERE id = ?",
                   {std::string(to_string(final_state)), id});
      !r)
    return r;
  checkpoint_locked();
  return {};
}

Result<int> SqlitePickupIndex::forget_shredded(std::int64_t expired_before) {
  std::lock_guard lock(mu_);
  if (auto r = run(db_.get(), "DELETE FROM pickups WHERE wrapped_key IS NULL AND expires < ?",
                   {expired_before});
      !r)
    return r.error();
  const int n = sqlite3_changes(db_.get());
  if (auto r = run(db_.get(), "DELETE FROM codes WHERE id NOT IN (SELECT id FROM pickups)", {}); !r)
    return r.error();
  // A portal password lives as long as its recipient has any pickup row.
  if (auto r = run(db_.get(),
                   "DELETE FROM portal_passwords WHERE recipient NOT IN "
                   "(SELECT lower(recipient) FROM pickups)",
                   {});
      !r)
    return r.error();
  if (n > 0 || sqlite3_changes(db_.get()) > 0 || checkpoint_owed_) checkpoint_locked();
  return n;
}

void SqlitePickupIndex::checkpoint_locked() {
  int log_frames = 0, done = 0;
  // Waits (busy timeout) for readers of older snapshots; if one still holds
  // on, the checkpoint is owed and the next shred or purge (every 5 minutes
  // in the portal) tries again.
  const int rc =
      sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &done);
  if (rc != SQLITE_OK) {
    checkpoint_owed_ = true;
    log::warn(
        "pickup.checkpoint",
        {{"result", "incomplete"}, {"reason", sqlite3_errmsg(db_.get())}, {"retry", "next purge"}});
  } else if (checkpoint_owed_) {
    checkpoint_owed_ = false;
    log::info("pickup.checkpoint",
              {{"result", "done"}, {"detail", "the owed checkpoint caught up"}});
  }
}

Result<std::vector<std::string>> SqlitePickupIndex::expired_ids(std::int64_t now) {
  std::lock_guard lock(mu_);
  // Rows whose key material still exists but whose time is up (any state).
  auto stmt = prepare(db_.get(),
                      "SELECT id FROM pickups WHERE expires <= ? AND "
                      "wrapped_key IS NOT NULL",
                      {now});
  if (!stmt) return stmt.error();
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
    out.push_back(column_string(stmt->get(), 0));
  if (rc != SQLITE_DONE) return db_error(db_.get(), "expired_ids");
  return out;
}

Result<std::optional<PortalPassword>> SqlitePickupIndex::find_password(
    const std::string& recipient) {
  std::lock_guard lock(mu_);
  auto stmt =
      prepare(db_.get(), "SELECT hash, failures, set_at FROM portal_passwords WHERE recipient = ?",
              {recipient});
  if (!stmt) return stmt.error();
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_DONE) return std::optional<PortalPassword>();
  if (rc != SQLITE_ROW) return db_error(db_.get(), "find_password");
  return std::optional<PortalPassword>(PortalPassword{column_string(stmt->get(), 0),
                                                      sqlite3_column_int(stmt->get(), 1),
                                                      sqlite3_column_int64(stmt->get(), 2)});
}

Result<void> SqlitePickupIndex::set_password(const std::string& recipient, const std::string& hash,
                                             std::int64_t now) {
  std::lock_guard lock(mu_);
  return run(db_.get(),
             "INSERT OR REPLACE INTO portal_passwords (recipient, hash, failures, set_at) "
             "VALUES (?,?,0,?)",
             {recipient, hash, now});
}

Result<AttemptSlot> SqlitePickupIndex::begin_password_attempt(const std::string& recipient,
                                                              int max_failures) {
  std::lock_guard lock(mu_);
  return transaction<AttemptSlot>([&]() -> Result<AttemptSlot> {
    auto stmt = prepare(db_.get(), "SELECT failures FROM portal_passwords WHERE recipient = ?",
                        {recipient});
    if (!stmt) return stmt.error();
    const int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return AttemptSlot{};
    if (rc != SQLITE_ROW) return db_error(db_.get(), "begin_password_attempt");
    AttemptSlot slot;
    slot.attempts = sqlite3_column_int(stmt->get(), 0);
    stmt->reset();
    if (slot.attempts >= max_failures) {
      if (auto r = run(db_.get(), "DELETE FROM portal_passwords WHERE recipient = ?", {recipient});
          !r)
        return r.error();
      slot.newly_locked = true;
      return slot;
    }
    if (auto r = run(db_.get(),
                     "UPDATE portal_passwords SET failures = failures + 1 WHERE recipient = ?",
                     {recipient});
        !r)
      return r.error();
    slot.granted = true;
    ++slot.attempts;
    return slot;
  });
}

Result<void> SqlitePickupIndex::reset_password_failures(const std::string& recipient) {
  std::lock_guard lock(mu_);
  return run(db_.get(), "UPDATE portal_passwords SET failures = 0 WHERE recipient = ?",
             {recipient});
}

Result<void> SqlitePickupIndex::delete_password(const std::string& recipient) {
  std::lock_guard lock(mu_);
  return run(db_.get(), "DELETE FROM portal_passwords WHERE recipient = ?", {recipient});
}

Result<void> SqlitePickupIndex::put_code(const std::string& id, const PendingCode& code) {
  std::lock_guard lock(mu_);
  return run(db_.get(), "INSERT OR REPLACE INTO codes (id, hash, expires) VALUES (?,?,?)",
             {id, Blob{code.hash}, code.expires});
}

Result<std::optional<PendingCode>> SqlitePickupIndex::find_code(const std::string& id) {
  std::lock_guard lock(mu_);
  auto stmt = prepare(db_.get(), "SELECT hash, expires FROM codes WHERE id = ?", {id});
  if (!stmt) return stmt.error();
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_DONE) return std::optional<PendingCode>();
  if (rc != SQLITE_ROW) return db_error(db_.get(), "find_code");
  return std::optional<PendingCode>(
      PendingCode{column_string(stmt->get(), 0), sqlite3_column_int64(stmt->get(), 1)});
}

Result<void> SqlitePickupIndex::delete_code(const std::string& id) {
  std::lock_guard lock(mu_);
  return run(db_.get(), "DELETE FROM codes WHERE id = ?", {id});
}

Result<bool> SqlitePickupIndex::consume_code(const std::string& id, const std::string& hash) {
  std::lock_guard lock(mu_);
  if (auto r = run(db_.get(), "DELETE FROM codes WHERE id = ? AND hash = ?", {id, Blob{hash}}); !r)
    return r.error();
  return sqlite3_changes(db_.get()) == 1;
}

}  // namespace sealpost::pickup
