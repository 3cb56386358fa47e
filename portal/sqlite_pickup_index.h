// PickupIndex on SQLite (<state_dir>/pickup/index.db), WAL mode, one
// connection per process guarded by a mutex (the portal serves few requests).
// secure_delete zeroes freed content in the database file, and every shred
// ends with a TRUNCATE checkpoint so the WAL keeps no copy either.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>

#include "portal/pickup_index.h"

namespace sealpost::pickup {

class SqlitePickupIndex final : public PickupIndex {
 public:
  // `group_shared`: the relay and the portal run as different users of one
  // group (systemd units), so the database is 0660 instead of 0600.
  static Result<std::unique_ptr<SqlitePickupIndex>> open(const std::string& path,
                                                         bool group_shared = false);

  Result<void> insert(const PickupRecord& r) override;
  Result<std::optional<PickupRecord>> find(const std::string& id) override;
  Result<std::vector<PickupRecord>> list() override;
  Result<void> set_state(const std::string& id, State s) override;
  Result<AttemptSlot> begin_attempt(const std::string& id, int max_attempts) override;
  Result<void> refund_attempt(const std::string& id) override;
  Result<bool> lock(const std::string& id) override;
  Result<bool> mark_picked_up(const std::string& id, std::int64_t when) override;
  Result<void> shred(const std::string& id, State final_state) override;
  Result<std::vector<std::string>> expired_ids(std::int64_t now) override;
  Result<int> forget_shredded(std::int64_t expired_before) override;
  Result<std::optional<PortalPassword>> find_password(const std::string& recipient) override;
  Result<void> set_password(const std::string& recipient, const std::string& hash,
                            std::int64_t now) override;
  Result<AttemptSlot> begin_password_attempt(const std::string& recipient,
                                             int max_failures) override;
  Result<void> reset_password_failures(const std::string& recipient) override;
  Result<void> delete_password(const std::string& recipient) override;
  Result<void> put_code(const std::string& id, const PendingCode& code) override;
  Result<std::optional<PendingCode>> find_code(const std::string& id) override;
  Result<void> delete_code(const std::string& id) override;
  Result<bool> consume_code(const std::string& id, const std::string& hash) override;

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  explicit SqlitePickupIndex(sqlite3* db) : db_(db) {}
  Result<void> exec(const char* sql);
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error).
  template <class T, class F>
  Result<T> transaction(F&& body);
  // Copies the WAL into the database and truncates it to zero bytes: old
  // page images (a shredded wrapped key) must not live on in index.db-wal.
  void checkpoint_locked();
  Result<bool> lock_locked(const std::string& id);

  std::unique_ptr<sqlite3, DbCloser> db_;
  std::mutex mu_;
  // A checkpoint that could not finish (a reader held an old snapshot) is
  // owed: every later forget_shredded() (each purge) retries it, also when
  // that purge itself changed nothing.
  bool checkpoint_owed_ = false;
};

}  // namespace sealpost::pickup
