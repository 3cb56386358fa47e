#include "common/spill_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/durable_file.h"
#include "common/secure_random.h"

namespace sealpost {
namespace {

constexpr std::size_t kStride = SpillFile::kRecordBytes + aead::kTagBytes;

// The key is never reused across files, so the record index is a unique nonce.
void nonce_for(std::uint64_t index, char (&nonce)[aead::kNonceBytes]) {
  std::memset(nonce, 0, sizeof nonce);
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<char>((index >> (56 - 8 * i)) & 0xFF);
}

Error spill_error(std::string reason) {
  return Error::temp("4.3.0", "Local error in processing", std::move(reason));
}

// O_TMPFILE where the file system has it; otherwise a named file unlinked at once.
UniqueFd open_anonymous(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd || (errno != EOPNOTSUPP && errno != EISDIR)) return fd;
  std::string name = (dir / ("spill-" + random_token(10) + ".tmp")).string();
  fd.reset(::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd) ::unlink(name.c_str());
  return fd;
}

}  // namespace

Result<std::shared_ptr<SpillFile>> SpillFile::create(const std::filesystem::path& dir) {
  UniqueFd fd = open_anonymous(dir);
  if (!fd) return io_error(errno, "create spill file in", dir);
  std::shared_ptr<SpillFile> f(new SpillFile(std::move(fd)));
  const std::string key = random_bytes(aead::kKeyBytes);
  std::memcpy(f->key_, key.data(), aead::kKeyBytes);
  return f;
}

SpillFile::SpillFile(UniqueFd fd) : fd_(std::move(fd)) {}

SpillFile::~SpillFile() {
  OPENSSL_cleanse(key_, sizeof key_);
  if (!cached_.empty()) OPENSSL_cleanse(cached_.data(), cached_.size());
  if (!pending_.empty()) OPENSSL_cleanse(pending_.data(), pending_.size());
}

Result<void> SpillFile::write_record(std::string_view plain) {
  char nonce[aead::kNonceBytes];
  nonce_for(records_, nonce);
  std::string sealed;
  sealed.reserve(plain.size() + aead::kTagBytes);
  if (!aead::seal(key_, nonce, {}, plain, sealed)) return spill_error("spill encryption failed");
  std::size_t done = 0;
  const auto at = static_cast<off_t>(records_ * kStride);
  while (done < sealed.size()) {
    const ssize_t n = ::pwrite(fd_.get(), sealed.data() + done, sealed.size() - done,
                               at + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(errno, "write", "spill file");
    done += static_cast<std::size_t>(n);
  }
  ++records_;
  return {};
}

Result<void> SpillFile::append(std::string_view bytes) {
  if (finished_) return spill_error("spill file written after finish");
  while (!bytes.empty()) {
    const std::size_t take = std::min(bytes.size(), kRecordBytes - pending_.size());
    pending_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    size_ += take;
    if (pending_.size() == kRecordBytes) {
      if (auto r = write_record(pending_); !r) return r;
      pending_.clear();
    }
  }
  return {};
}

Result<void> SpillFile::finish() {
  if (finished_) return {};
  finished_ = true;
  if (pending_.empty()) return {};
  auto r = write_record(pending_);
  OPENSSL_cleanse(pending_.data(), pending_.size());
  pending_.clear();
  pending_.shrink_to_fit();
  return r;
}

Result<std::size_t> SpillFile::read_at(std::uint64_t offset, char* buf, std::size_t n) const {
  if (!finished_) return spill_error("spill file read before it was finished");
  if (offset >= size_ || n == 0) return std::size_t{0};
  const std::uint64_t index = offset / kRecordBytes;
  std::lock_guard lock(mu_);
  if (index != cached_index_) {
    const std::uint64_t start = index * kRecordBytes;
    const std::size_t plain_len =
        static_cast<std::size_t>(std::min<std::uint64_t>(kRecordBytes, size_ - start));
    std::string sealed(plain_len + aead::kTagBytes, '\0');
    std::size_t got = 0;
    while (got < sealed.size()) {
      const ssize_t r = ::pread(fd_.get(), sealed.data() + got, sealed.size() - got,
                                static_cast<off_t>(index * kStride + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return spill_error("spill file short read");
      got += static_cast<std::size_t>(r);
    }
    char nonce[aead::kNonceBytes];
    nonce_for(index, nonce);
    cached_index_ = UINT64_MAX;
    cached_.clear();
    if (!aead::open(key_, nonce, {}, std::string_view(sealed.data(), plain_len),
                    sealed.data() + plain_len, cached_))
      return spill_error("spill file record fails authentication");
    cached_index_ = index;
  }
  const std::size_t in_record = static_cast<std::size_t>(offset - index * kRecordBytes);
  const std::size_t take = std::min(n, cached_.size() - in_record);
  std::memcpy(buf, cached_.data() + in_record, take);
  return take;
}

}  // namespace sealpost
