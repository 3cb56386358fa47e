// Where a message's bytes go while it is being sealed, when they are too many
// to keep in memory. An anonymous file (O_TMPFILE: it has no name and is gone
// with its descriptor, so a crash leaves nothing to clean up) holding the bytes
// AES-256-GCM-sealed in 64 KiB records under a random key that exists only in
// this object's memory: what the disk keeps of it is unreadable, even after a
// crash, and a flipped bit is an error instead of different content.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/aead.h"
#include "common/body.h"
#include "common/unique_fd.h"

namespace sealpost {

class SpillFile final : public BodySource {
 public:
  static constexpr std::size_t kRecordBytes = 64u << 10;

  static Result<std::shared_ptr<SpillFile>> create(const std::filesystem::path& dir);
  ~SpillFile() override;
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // While writing: bytes are sealed and written a record at a time.
  Result<void> append(std::string_view bytes);
  // Seals the last (short) record; the file is read-only afterwards.
  Result<void> finish();

  std::uint64_t size() const override { return size_; }
  Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) const override;

 private:
  explicit SpillFile(UniqueFd fd);
  Result<void> write_record(std::string_view plain);
  // The plaintext of record `index` (cached: readers go through a record in pieces).
  Result<const std::string*> record(std::uint64_t index) const;

  UniqueFd fd_;
  unsigned char key_[aead::kKeyBytes] = {};
  std::string pending_;  // plaintext of the record being filled
  std::uint64_t size_ = 0;
  std::uint64_t records_ = 0;
  bool finished_ = false;

  mutable std::mutex mu_;  // guards the cache
  mutable std::uint64_t cached_index_ = UINT64_MAX;
  mutable std::string cached_;
};

}  // namespace sealpost
