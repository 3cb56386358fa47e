// Spool encryption keys: one 256-bit AES key per file on disk, identified by a
// short key id so that a spool file names the key that sealed it (rotation).
//
// Key file format: exactly 32 raw bytes (`head -c 32 /dev/urandom`), or 64 hex
// digits optionally followed by a newline (`openssl rand -hex 32`). The file
// must not be accessible by group or others: a readable key would defeat the
// point of encrypting the spool.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost::spool {

inline constexpr std::size_t kSpoolKeyBytes = 32;
inline constexpr std::size_t kKeyIdBytes = 8;
using KeyId = std::array<unsigned char, kKeyIdBytes>;

// Lower-case hex, as logs and error messages show key ids.
std::string key_id_hex(const KeyId& id);

class SpoolKey {
 public:
  // `raw` must be kSpoolKeyBytes long; `source` names it in logs and errors.
  static Result<SpoolKey> from_bytes(std::string_view raw, std::string source);

  SpoolKey(const SpoolKey&) = default;
  SpoolKey& operator=(const SpoolKey&) = default;
  ~SpoolKey();  // wipes the key material

  const unsigned char* bytes() const { return key_.data(); }
  const KeyId& id() const { return id_; }
  std::string id_hex() const { return key_id_hex(id_); }
  const std::string& source() const { return source_; }

 private:
  SpoolKey() = default;
  std::array<unsigned char, kSpoolKeyBytes> key_{};
  KeyId id_{};
  std::string source_;
};

// Reads and checks a key file (format above, mode without group/other bits).
Result<SpoolKey> read_spool_key_file(const std::filesystem::path& path);
// Creates a new random key file (mode 0600, never overwrites; written to a temp
// file, synced and linked into place, so a crash leaves no short key); returns it.
Result<SpoolKey> create_spool_key_file(const std::filesystem::path& path);

}  // namespace sealpost::spool
