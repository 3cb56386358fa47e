// Streams one message's data into spool/incoming/ while DATA arrives, sealing
// it in 64 KiB records (sealed_file.h) so no plaintext touches the disk, and on
// commit makes it durable and visible in queue/ (see file_spool.h for the order).
#pragma once

#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "relay/spool/sealed_file.h"
#include "relay/spool/spool.h"
#include "relay/spool/spool_keyring.h"
#include "relay/spool/spool_paths.h"

namespace sealpost::spool {

class SpoolWriter final : public Spool::Writer {
 public:
  static Result<std::unique_ptr<Spool::Writer>> create(const SpoolPaths& paths,
                                                       std::shared_ptr<const SpoolKeyring> keys);
  ~SpoolWriter() override;

  Result<void> write(std::string_view chunk) override;
  Result<std::string> commit(SpoolEnvelope envelope) override;

 private:
  SpoolWriter(const SpoolPaths& paths, std::shared_ptr<const SpoolKeyring> keys,
              std::filesystem::path temp, UniqueFd fd)
      : paths_(paths),
        keys_(std::move(keys)),
        sealer_(keys_->current(), SealedKind::Data),
        temp_(std::move(temp)),
        fd_(std::move(fd)) {
    out_ = sealer_.header();
  }
  // Seals full records (all of buffer_ when `final`) and writes them out.
  Result<void> flush_buffer(bool final);
  Result<void> write_out();

  const SpoolPaths& paths_;
  std::shared_ptr<const SpoolKeyring> keys_;
  RecordSealer sealer_;
  std::filesystem::path temp_;
  UniqueFd fd_;
  std::string buffer_;  // plaintext not yet sealed: less than one record
  std::string out_;     // sealed bytes not yet written
  std::uint64_t bytes_ = 0;
  bool committed_ = false;
  bool failed_ = false;
};

}  // namespace sealpost::spool
