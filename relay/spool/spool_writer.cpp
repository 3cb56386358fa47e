#include "relay/spool/spool_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/durable_file.h"
#include "common/secure_random.h"
#include "relay/spool/envelope_codec.h"

namespace sealpost::spool {

Result<std::unique_ptr<Spool::Writer>> SpoolWriter::create(
    const SpoolPaths& paths, std::shared_ptr<const SpoolKeyring> keys) {
  auto temp = paths.incoming / (random_token(10) + ".tmp");
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return io_error(errno, "create", temp);
  return std::unique_ptr<Spool::Writer>(
      new SpoolWriter(paths, std::move(keys), std::move(temp), std::move(fd)));
}

SpoolWriter::~SpoolWriter() {
  if (!committed_) ::unlink(temp_.c_str());  // an abandoned DATA phase leaves nothing behind
}

Result<void> SpoolWriter::flush_buffer(bool final) {
  std::string_view rest = buffer_;
  // Full records first; at the end, whatever is left (maybe nothing) becomes the
  // final record, which marks the end so that truncation is detected.
  while (rest.size() > kSealedRecordBytes || (!final && rest.size() == kSealedRecordBytes)) {
    if (auto r = sealer_.seal(rest.substr(0, kSealedRecordBytes), false, out_); !r) {
      failed_ = true;
      return r.error();
    }
    rest.remove_prefix(kSealedRecordBytes);
  }
  if (final) {
    if (auto r = sealer_.seal(rest, true, out_); !r) {
      failed_ = true;
      return r.error();
    }
    rest = {};
  }
  buffer_.erase(0, buffer_.size() - rest.size());
  return write_out();
}

Result<void> SpoolWriter::write_out() {
  std::string_view rest = out_;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_.get(), rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      failed_ = true;
      return io_error(errno, "write", temp_);
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  out_.clear();
  return {};
}

Result<void> SpoolWriter::write(std::string_view chunk) {
  if (committed_ || failed_)
    return Error::temp("4.3.0", "Local error in processing", "spool writer not writable");
  bytes_ += chunk.size();
  buffer_.append(chunk);
  if (buffer_.size() >= kSealedRecordBytes) return flush_buffer(false);
  return {};
}

Result<std::string> SpoolWriter::commit(SpoolEnvelope envelope) {
  if (committed_ || failed_)
    return Error::temp("4.3.0", "Local error in processing", "spool writer not committable");
  if (auto r = flush_buffer(true); !r) return r.error();
  if (::fsync(fd_.get()) != 0) {
    failed_ = true;
    return io_error(errno, "fsync", temp_);
  }
  fd_.reset();

  const std::string id = new_queue_id();
  envelope.id = id;
  envelope.size = bytes_;
  if (envelope.arrival == 0) envelope.arrival = static_cast<std::int64_t>(std::time(nullptr));

  // Data first (invisible without an envelope), envelope last; write_file_durable
  // fsyncs queue/ after its rename, which also persists the data file's entry.
  const auto data = paths_.data(id);
  if (::rename(temp_.c_str(), data.c_str()) != 0) {
    failed_ = true;
    return io_error(errno, "rename", data);
  }
  committed_ = true;  // the temp name is gone; the destructor must not unlink
  auto sealed = seal_all(keys_->current(), SealedKind::Envelope, encode_envelope(envelope));
  if (!sealed) {
    ::unlink(data.c_str());
    return sealed.error();
  }
  if (auto r = write_file_durable(paths_.envelope(id), *sealed); !r) {
    ::unlink(data.c_str());  // never acknowledged: do not leave an orphan behind
    return r.error();
  }
  return id;
}

}  // namespace sealpost::spool
