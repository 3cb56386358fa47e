// What the IMAP side has already handled, in <state_dir>/sealpost.db (tables
// imap_seen and imap_status): a message is claimed before anything is done
// with it, so a crash mid-way never leads to a second decrypted copy.
// Keyed by account, folder, UIDVALIDITY and UID (RFC 3501 §2.3.1.1: UIDs are
// only stable within one UIDVALIDITY).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace sealpost::imap {

struct FolderStatus {
  std::string account;  // user@host:port
  std::string folder;
  std::uint32_t uidvalidity = 0;
  std::uint32_t last_uid = 0;  // highest UID handled in this UIDVALIDITY
  std::string last_error;      // empty after a clean pass
  std::int64_t updated = 0;    // unix seconds
  std::int64_t processed = 0;  // messages handled in this UIDVALIDITY
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
  virtual Result<void> finish(const std::string& account, const std::string& folder,
                              std::uint32_t uidvalidity, std::uint32_t uid,
                              const std::string& outcome) = 0;
  // The highest UID claimed in this UIDVALIDITY (0 when none or it changed).
  virtual Result<std::uint32_t> last_uid(const std::string& account, const std::string& folder,
                                         std::uint32_t uidvalidity) = 0;
  virtual Result<void> set_status(const std::string& account, const std::string& folder,
                                  std::uint32_t uidvalidity, const std::string& last_error) = 0;
  virtual Result<std::vector<FolderStatus>> status() = 0;
};

Result<std::unique_ptr<SeenStore>> open_sqlite_seen(const std::string& path);

std::string account_key(const std::string& username, const std::string& host, std::uint16_t port);

}  // namespace sealpost::imap
