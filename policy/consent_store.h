// The consent registry: which patients agreed to receive mail (and how they
// prove who they are at the pickup portal). An interface so that a shared
// PostgreSQL can serve several relay nodes later; SQLite is the embedded default.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/plan.h"

namespace sealpost::policy {

struct ConsentRecord {
  std::string address;  // stored lower-case
  Consent state = Consent::Granted;
  std::string date;             // YYYY-MM-DD the consent was given or revoked
  std::string source;           // "cli", "import:FILE", ...
  std::string sms_number;       // for pickup auth: sms (optional)
  std::string passphrase_hash;  // for pickup auth: passphrase (argon2id string, optional)
};

// What an import does with one incoming record, given the one on file.
struct ConsentMerge {
  enum class Action { Add, Update, Unchanged, Skip };
  Action action = Action::Skip;
  ConsentRecord result;  // what is stored for Add/Update
  std::string reason;    // why, for Skip (and Unchanged)
};

// The import rule: a record never overrides a newer one on file (a patient's
// revocation must not be undone by an old list), and on the same date a
// revocation wins over a grant. An applied record keeps the second-factor
// data the import does not carry: the passphrase hash always, the SMS number
// unless the incoming record names one.
ConsentMerge merge_consent(const std::optional<ConsentRecord>& on_file,
                           const ConsentRecord& incoming);

struct ConsentImportOutcome {
  ConsentMerge::Action action = ConsentMerge::Action::Skip;
  std::string reason;
};

class ConsentStore {
 public:
  virtual ~ConsentStore() = default;
  virtual Result<std::optional<ConsentRecord>> get(const std::string& address) = 0;
  // Insert or replace the record for record.address (callers merge: see
  // merge_consent and the CLI's `consent add`).
  virtual Result<void> set(const ConsentRecord& record) = 0;
  // Marks an existing record revoked (keeps it: when consent ended is evidence).
  // Fails when the address has no record.
  virtual Result<void> revoke(const std::string& address, const std::string& date,
                              const std::string& source) = 0;
  virtual Result<std::vector<ConsentRecord>> list() = 0;
  // CSV import: merges every record with merge_consent() against what is on
  // file, in one transaction (all or nothing on a database error). One
  // outcome per record, in order.
  virtual Result<std::vector<ConsentImportOutcome>> import_all(
      const std::vector<ConsentRecord>& records) = 0;
};

// Where the embedded database lives: <state_dir>/sealpost.db.
inline std::string state_db_path(const std::string& state_dir) {
  return state_dir + "/sealpost.db";
}

// Opens (creating when `create`) the consent table in the SQLite file `db_path`
// (normally <state_dir>/sealpost.db, shared with other tables).
// With create == false a missing file is an error.
Result<std::unique_ptr<ConsentStore>> open_sqlite_consent_store(const std::string& db_path,
                                                                bool create);

// Consent states for decide(); addresses without a record are left out (= Unknown).
Result<std::map<std::string, Consent>> lookup_consent(ConsentStore& store,
                                                      const std::vector<std::string>& addresses);

const char* consent_state_name(Consent c);  // "granted", "revoked", "unknown"
std::optional<Consent> parse_consent_state(const std::string& word);

// Checks used by the CLI and the CSV import.
bool is_plausible_address(const std::string& address);
bool is_iso_date(const std::string& date);  // YYYY-MM-DD, a real calendar day
// A YYYY-MM-DD later than today in every time zone: a consent decision cannot
// be dated ahead (it would outrank every real, later decision).
bool is_future_date(const std::string& date,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
bool is_sms_number(const std::string& number);  // "+49 171 2345678": '+', digits, spaces

}  // namespace sealpost::policy
