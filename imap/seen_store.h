// What the IMAP side has already handled, in <state_dir>/sealpost.db (tables
// imap_seen, imap_status, imap_connection). Keyed by account, folder,
// UIDVALIDITY and UID (RFC 3501 §2.3.1.1: UIDs are only stable within one
// UIDVALIDITY). A message goes through these states, so that a crash at any
// point neither loses it nor makes a second readable copy:
//   claimed          fetched and being looked at; nothing visible happened.
//                    Released at the next start (the message is done again).
//   appending:<out>  the readable copy is about to be APPENDed (or was, and
//                    the answer was lost): the service searches for the copy
//                    before appending again.
//   appended:<out>   the copy exists; the original still has to be moved.
//   <outcome>        finished (decrypted, plain, own-copy, ..., append-refused:
//                    the server refused the copy's APPEND too often; the
//                    original stays where it is).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace sealpost::imap {

struct FolderStatus {
  std::string account;  // user@host:port
  std::string folder;
  std::uint32_t uidvalidity = 0;
  std::uint32_t last_uid = 0;                    // highest UID handled in this UIDVALIDITY
  std::string last_error;                        // empty after a clean pass
  std::int64_t updated = 0;                      // unix seconds
  std::int64_t processed = 0;                    // messages handled in this UIDVALIDITY
  std::map<std::string, std::int64_t> outcomes;  // per outcome in this UIDVALIDITY
  // The daemon's connection for this folder: connected | connecting |
  // backing-off ("" = never tried), since when, and the error that caused it.
  std::string connection;
  std::int64_t connection_since = 0;
  std::string connection_error;
};

struct UnfinishedMessage {
  std::uint32_t uid = 0;
  bool appended = false;  // the copy exists (only the move is left)
  std::string outcome;    // what it will be recorded as when done
};

class SeenStore {
 public:
  virtual ~SeenStore() = default;
  // False when the message was claimed before (in any earlier run).
  virtual Result<bool> claim(const std::string& account, const std::string& folder,
                             std::uint32_t uidvalidity, std::uint32_t uid) = 0;
  // Gives a claim back when nothing visible happened yet, so the next pass retries.
  virtual Result<void> release(const std::string& account, const std::string& folder,
                               std::uint32_t uidvalidity, std::uint32_t uid) = 0;
  // At start, before any thread works: every plain claim left by a crash is
  // given back. Returns how many.
  virtual Result<int> release_all_claims() = 0;
  // Before APPEND, and after it succeeded.
  virtual Result<void> mark_appending(const std::string& account, const std::string& folder,
                                      std::uint32_t uidvalidity, std::uint32_t uid,
                                      const std::string& outcome) = 0;
  virtual Result<void> mark_appended(const std::string& account, const std::string& folder,
                                     std::uint32_t uidvalidity, std::uint32_t uid,
                                     const std::string& outcome) = 0;
  // Messages of this folder left in appending/appended (a crash, a lost connection).
  virtual Result<std::vector<UnfinishedMessage>> unfinished(const std::string& account,
                                                            const std::string& folder,
                                                            std::uint32_t uidvalidity) = 0;
  // Drops an appending row whose copy does not exist, so the message is done again.
  virtual Result<void> forget(const std::string& account, const std::string& folder,
                              std::uint32_t uidvalidity, std::uint32_t uid) = 0;
  // The server answered the copy's APPEND with NO/BAD once more: how often
  // it has now for this message (kept across forget(), unlike its row).
  virtual Result<int> count_append_refusal(const std::string& account, const std::string& folder,
                                           std::uint32_t uidvalidity, std::uint32_t uid) = 0;
  virtual Result<void> finish(const std::string& account, const std::string& folder,
                              std::uint32_t uidvalidity, std::uint32_t uid,
                              const std::string& outcome) = 0;
  // The highest UID recorded in this UIDVALIDITY (0 when none or it changed).
  virtual Result<std::uint32_t> last_uid(const std::string& account, const std::string& folder,
                                         std::uint32_t uidvalidity) = 0;
  virtual Result<void> set_status(const std::string& account, const std::string& folder,
                                  std::uint32_t uidvalidity, const std::string& last_error) = 0;
  // The connection state `imap status` shows; `since` changes only with the state.
  virtual Result<void> set_connection(const std::string& account, const std::string& folder,
                                      const std::string& state, const std::string& error) = 0;
  virtual Result<std::vector<FolderStatus>> status() = 0;
};

Result<std::unique_ptr<SeenStore>> open_sqlite_seen(const std::string& path);

std::string account_key(const std::string& username, const std::string& host, std::uint16_t port);

}  // namespace sealpost::imap
