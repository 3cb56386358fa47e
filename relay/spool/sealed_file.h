// The encrypted container every spool file is written in (issue 8): AES-256-GCM
// in records of at most 64 KiB, so a message of any size is sealed and opened
// in bounded memory, and a torn, truncated, reordered or altered file fails
// authentication instead of being delivered half.
//
//   header (30 bytes, in the clear)
//     magic(4)   "SPEV" envelope | "SPMS" message data
//     version(1) 1
//     cipher(1)  1 = AES-256-GCM (0 was the plaintext envelope of before)
//     key_id(8)  which key sealed the file (spool_key.h)
//     salt(16)   random per file: records cannot move between files
//   record*
//     flags(1)   bit 0 = final record; nothing may follow it
//     length(4)  plaintext bytes, big endian, at most kSealedRecordBytes
//     nonce(12)  random
//     ciphertext(length)
//     tag(16)
//   AAD of each record = header || record index(8, big endian) || flags || length
//
// A file without a final record is truncated; bytes after it are corrupt.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/body.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "relay/spool/spool_keyring.h"

namespace sealpost::spool {

inline constexpr std::size_t kSealedRecordBytes = 64u << 10;
inline constexpr std::size_t kSealedHeaderBytes = 30;
inline constexpr std::size_t kSealedRecordOverhead = 1 + 4 + 12 + 16;

enum class SealedKind { Envelope, Data };

// Why opening failed: only Corrupt means the file itself is bad (quarantine it).
// UnknownKey leaves the file alone: the admin may have forgotten an old key.
enum class OpenFailure { None, Io, UnknownKey, Corrupt };

// Seals a stream record by record; the caller writes header() first.
class RecordSealer {
 public:
  RecordSealer(const SpoolKey& key, SealedKind kind);
  const std::string& header() const { return header_; }
  // Appends one record for `plain` (at most kSealedRecordBytes) to `out`.
  Result<void> seal(std::string_view plain, bool final, std::string& out);

 private:
  const SpoolKey& key_;
  std::string header_;
  std::uint64_t index_ = 0;
  bool finished_ = false;
};

// A whole small file (an envelope) sealed in one go.
Result<std::string> seal_all(const SpoolKey& key, SealedKind kind, std::string_view plain);

// Opens a sealed file and returns its plaintext record by record.
class SealedReader {
 public:
  static Result<SealedReader> open(const std::filesystem::path& path, SealedKind kind,
                                   const SpoolKeyring& keys, OpenFailure* why);
  // Appends the next record's plaintext to `out`; returns false after the final
  // record (having checked that nothing follows it).
  Result<bool> next(std::string& out, OpenFailure* why);
  const SpoolKey& key() const { return *key_; }

 private:
  SealedReader(UniqueFd fd, std::string header, const SpoolKey& key, std::filesystem::path path)
      : fd_(std::move(fd)), header_(std::move(header)), key_(&key), path_(std::move(path)) {}
  Result<void> read_exact(char* buf, std::size_t n, bool* eof, OpenFailure* why);

  UniqueFd fd_;
  std::string header_;
  const SpoolKey* key_;
  std::filesystem::path path_;
  std::uint64_t index_ = 0;
  bool done_ = false;
};

// Random access to the plaintext of a sealed data file, as a Body for delivery.
// Records hold exactly kSealedRecordBytes except the last, so a position maps
// to a record without reading the ones before it. open() authenticates the
// final record before anything else is read: a truncated, extended or
// reordered file is refused up front, and every record read later is
// authenticated (its index is in the AAD), so no caller ever sees half a file.
class SealedFileSource final : public BodySource {
 public:
  static Result<std::shared_ptr<SealedFileSource>> open(const std::filesystem::path& path,
                                                        std::shared_ptr<const SpoolKeyring> keys,
                                                        OpenFailure* why);
  ~SealedFileSource() override;
  SealedFileSource(const SealedFileSource&) = delete;
  SealedFileSource& operator=(const SealedFileSource&) = delete;
  std::uint64_t size() const override { return size_; }
  Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) const override;
  // Authenticates every record once (plaintext discarded), so a file damaged
  // in its middle is found and quarantined before a delivery starts rather
  // than failing the same attempt again and again.
  Result<void> verify_all(OpenFailure* why) const;

 private:
  SealedFileSource() = default;
  // Reads and authenticates record `index` into `out` (replacing it).
  Result<void> load_record(std::uint64_t index, std::string& out, OpenFailure* why) const;

  UniqueFd fd_;
  std::filesystem::path path_;
  std::string header_;
  std::shared_ptr<const SpoolKeyring> keys_;  // owns *key_
  const SpoolKey* key_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t records_ = 0;

  mutable std::mutex mu_;  // guards the cache
  mutable std::uint64_t cached_index_ = UINT64_MAX;
  mutable std::string cached_;
};

// Whole plaintext of a sealed file, refusing more than max_plain bytes.
Result<std::string> open_all(const std::filesystem::path& path, SealedKind kind,
                             const SpoolKeyring& keys, std::size_t max_plain, OpenFailure* why);

// Reads only the header's key id (to count files still sealed by an old key).
Result<KeyId> sealed_key_id(const std::filesystem::path& path);

}  // namespace sealpost::spool
