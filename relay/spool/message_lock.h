// Per-message exclusive lock shared by sealpostd and the `sealpost queue` CLI.
// It is an flock() on the message's data file, which never changes while the
// message exists (the envelope is replaced by rename, so it cannot carry a lock).
// Held only around envelope read-modify-write and removal, never during a
// network delivery attempt.
#pragma once

#include <filesystem>

#include "common/result.h"
#include "common/unique_fd.h"

namespace sealpost::spool {

class MessageLock {
 public:
  // Blocks until the lock is held. Error if the data file does not exist.
  static Result<MessageLock> acquire(const std::filesystem::path& data_file);

  MessageLock(MessageLock&&) noexcept = default;
  MessageLock& operator=(MessageLock&&) noexcept = default;
  ~MessageLock() = default;  // closing the descriptor releases the flock

 private:
  explicit MessageLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace sealpost::spool
