// A message's bytes as they travel from the spool through sealing to the
// smarthost: in memory while small, otherwise in a file encrypted at rest (the
// spool's own data file, or a spill file) and read in pieces, so that a 100 MB
// attachment never has to sit in memory whole. Copies share the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost {

// Where a Body's bytes live when they are not in memory: read-only, random access.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual std::uint64_t size() const = 0;
  // Copies up to n bytes from `offset` into buf and returns how many; 0 only at
  // or past the end. An unreadable or tampered file is an error, never short data.
  virtual Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) const = 0;
};

class Body {
 public:
  Body();
  Body(std::string bytes);  // NOLINT(google-explicit-constructor): small bodies, tests
  Body(const char* bytes) : Body(std::string(bytes)) {}  // NOLINT(google-explicit-constructor)
  explicit Body(std::shared_ptr<const BodySource> source);

  std::uint64_t size() const;
  bool empty() const { return size() == 0; }
  // The bytes when they are in memory, null when they live in a file.
  const std::string* memory() const { return src_ ? nullptr : mem_.get(); }

  Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) const;
  // Calls `piece` with consecutive pieces of the bytes (at most 64 KiB each) until
  // the end, or until it returns false: then the result is false.
  Result<bool> visit(const std::function<bool(std::string_view)>& piece) const;
  // The first n bytes (all of them when there are fewer).
  Result<std::string> head(std::size_t n) const;
  // All bytes; refused when there are more than `max`.
  Result<std::string> to_string(std::size_t max) const;

 private:
  std::shared_ptr<const std::string> mem_;
  std::shared_ptr<const BodySource> src_;
};

struct SpillSettings {
  std::filesystem::path dir;            // where spill files go; empty: always in memory
  std::size_t memory_limit = 8u << 20;  // bytes kept in memory before spilling
};

class SpillFile;

// Collects bytes into a Body: in memory up to settings.memory_limit, then into
// a spill file (spill_file.h).
class BodyWriter {
 public:
  explicit BodyWriter(SpillSettings settings = {});
  ~BodyWriter();
  BodyWriter(BodyWriter&&) noexcept;
  BodyWriter& operator=(BodyWriter&&) noexcept;
  BodyWriter(const BodyWriter&) = delete;
  BodyWriter& operator=(const BodyWriter&) = delete;

  // A failure (disk full) is kept: later appends do nothing and finish() returns it.
  Result<void> append(std::string_view bytes);
  std::uint64_t size() const { return size_; }
  bool spilled() const { return spill_ != nullptr; }
  // The bytes written so far; the writer starts empty again afterwards.
  Result<Body> finish();

 private:
  SpillSettings settings_;
  std::string mem_;
  std::shared_ptr<SpillFile> spill_;
  std::uint64_t size_ = 0;
  std::optional<Error> failed_;
};

}  // namespace sealpost
