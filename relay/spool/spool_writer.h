// Streams one message's data into spool/incoming/ while DATA arrives, and on
// commit makes it durable and visible in queue/ (see file_spool.h for the order).
#pragma once

#include <string>

#include "common/unique_fd.h"
#include "relay/spool/spool.h"
#include "relay/spool/spool_paths.h"

namespace sealpost::spool {

class SpoolWriter final : public Spool::Writer {
 public:
  static Result<std::unique_ptr<Spool::Writer>> create(const SpoolPaths& paths);
  ~SpoolWriter() override;

  Result<void> write(std::string_view chunk) override;
  Result<std::string> commit(SpoolEnvelope envelope) override;

 private:
  SpoolWriter(const SpoolPaths& paths, std::filesystem::path temp, UniqueFd fd)
      : paths_(paths), temp_(std::move(temp)), fd_(std::move(fd)) {}
  Result<void> flush_buffer();

  const SpoolPaths& paths_;
  std::filesystem::path temp_;
  UniqueFd fd_;
  std::string buffer_;  // batches small SMTP chunks into fewer write() calls
  std::uint64_t bytes_ = 0;
  bool committed_ = false;
  bool failed_ = false;
};

}  // namespace sealpost::spool
