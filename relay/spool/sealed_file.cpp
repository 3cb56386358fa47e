#include "relay/spool/sealed_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/aead.h"
#include "common/durable_file.h"
#include "common/secure_random.h"

namespace sealpost::spool {
namespace {

constexpr std::string_view kEnvelopeMagic = "SPEV";
constexpr std::string_view kDataMagic = "SPMS";
constexpr unsigned char kVersion = 1;
constexpr unsigned char kCipherAesGcm = 1;
constexpr std::size_t kKeyIdOffset = 6;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kNonceBytes = aead::kNonceBytes;
constexpr std::size_t kTagBytes = aead::kTagBytes;
constexpr std::size_t kRecordHead = 5;  // flags + length
constexpr unsigned char kFinal = 1;

static_assert(kSealedHeaderBytes == 4 + 1 + 1 + kKeyIdBytes + kSaltBytes);
static_assert(kSealedRecordOverhead == kRecordHead + kNonceBytes + kTagBytes);

std::string_view magic_for(SealedKind kind) {
  return kind == SealedKind::Envelope ? kEnvelopeMagic : kDataMagic;
}

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

std::uint64_t get_be(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Binds a record to its file (header), its position and whether it is the last.
std::string record_aad(const std::string& header, std::uint64_t index, const char* head) {
  std::string aad = header;
  put_be(aad, index, 8);
  aad.append(head, kRecordHead);
  return aad;
}

Error corrupt(const std::filesystem::path& path, const std::string& what, OpenFailure* why) {
  if (why) *why = OpenFailure::Corrupt;
  return Error::plain("corrupt spool file " + path.filename().string() + ": " + what);
}

// Authenticated decryption of one record body into `out` (appended only when
// the tag checks out).
bool gcm_open(const SpoolKey& key, const std::string& aad, const char* nonce, const char* ct,
              std::size_t len, const char* tag, std::string& out) {
  return aead::open(key.bytes(), nonce, aad, std::string_view(ct, len), tag, out);
}

}  // namespace

RecordSealer::RecordSealer(const SpoolKey& key, SealedKind kind) : key_(key) {
  header_.append(magic_for(kind));
  header_.push_back(static_cast<char>(kVersion));
  header_.push_back(static_cast<char>(kCipherAesGcm));
  header_.append(reinterpret_cast<const char*>(key.id().data()), kKeyIdBytes);
  header_.append(random_bytes(kSaltBytes));
}

Result<void> RecordSealer::seal(std::string_view plain, bool final, std::string& out) {
  if (finished_ || plain.size() > kSealedRecordBytes)
    return Error::plain("spool sealer misuse (record after final or too large)");
  const std::string nonce = random_bytes(kNonceBytes);
  std::string head;
  head.push_back(static_cast<char>(final ? kFinal : 0));
  put_be(head, plain.size(), 4);
  const std::string aad = record_aad(header_, index_, head.data());

  const std::size_t start = out.size();
  out.append(head);
  out.append(nonce);
  if (!aead::seal(key_.bytes(), nonce.data(), aad, plain, out)) {
    out.resize(start);
    return Error::temp("4.3.0", "Local error in processing", "spool encryption failed");
  }
  ++index_;
  finished_ = final;
  return {};
}

Result<std::string> seal_all(const SpoolKey& key, SealedKind kind, std::string_view plain) {
  RecordSealer sealer(key, kind);
  std::string out = sealer.header();
  out.reserve(out.size() + plain.size() +
              (plain.size() / kSealedRecordBytes + 1) * kSealedRecordOverhead);
  do {
    const std::string_view part = plain.substr(0, kSealedRecordBytes);
    plain.remove_prefix(part.size());
    if (auto r = sealer.seal(part, plain.empty(), out); !r) return r.error();
  } while (!plain.empty());
  return out;
}

namespace {

struct OpenedFile {
  UniqueFd fd;
  std::string header;
  const SpoolKey* key = nullptr;
};

// Opens a sealed file and checks its header: magic, version, cipher, and that
// the key it names is one we hold. Leaves the descriptor after the header.
Result<OpenedFile> open_sealed(const std::filesystem::path& path, SealedKind kind,
                               const SpoolKeyring& keys, OpenFailure* why) {
  OpenedFile f;
  f.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.fd) {
    if (why) *why = OpenFailure::Io;
    return io_error(errno, "open", path);
  }
  f.header.assign(kSealedHeaderBytes, '\0');
  std::size_t got = 0;
  while (got < f.header.size()) {
    const ssize_t n = ::read(f.fd.get(), f.header.data() + got, f.header.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (why) *why = OpenFailure::Io;
      return io_error(errno, "read", path);
    }
    if (n == 0) return corrupt(path, "truncated header", why);
    got += static_cast<std::size_t>(n);
  }
  const std::string& header = f.header;
  if (std::string_view(header).substr(0, 4) != magic_for(kind))
    return corrupt(path, "bad magic", why);
  if (static_cast<unsigned char>(header[4]) != kVersion)
    return corrupt(path, "unknown version", why);
  if (header[5] == 0) return corrupt(path, "stored unencrypted (written before issue 8)", why);
  if (static_cast<unsigned char>(header[5]) != kCipherAesGcm)
    return corrupt(path, "unknown cipher", why);
  KeyId id{};
  std::memcpy(id.data(), header.data() + kKeyIdOffset, kKeyIdBytes);
  f.key = keys.find(id);
  if (f.key == nullptr) {
    if (why) *why = OpenFailure::UnknownKey;
    return Error::plain("spool file " + path.filename().string() + " is sealed with key id " +
                        key_id_hex(id) +
                        ", which is neither queue.spool_key nor in queue.spool_old_keys");
  }
  return f;
}

}  // namespace

Result<SealedReader> SealedReader::open(const std::filesystem::path& path, SealedKind kind,
                                        const SpoolKeyring& keys, OpenFailure* why) {
  auto f = open_sealed(path, kind, keys, why);
  if (!f) return f.error();
  return SealedReader(std::move(f->fd), std::move(f->header), *f->key, path);
}

Result<void> SealedReader::read_exact(char* buf, std::size_t n, bool* eof, OpenFailure* why) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd_.get(), buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      if (why) *why = OpenFailure::Io;
      return io_error(errno, "read", path_);
    }
    if (r == 0) {
      if (got == 0 && eof != nullptr) {
        *eof = true;
        return {};
      }
      return corrupt(path_, "truncated record", why);
    }
    got += static_cast<std::size_t>(r);
  }
  return {};
}

Result<bool> SealedReader::next(std::string& out, OpenFailure* why) {
  if (done_) return false;
  char head[kRecordHead];
  bool eof = false;
  if (auto r = read_exact(head, kRecordHead, &eof, why); !r) return r.error();
  if (eof) return corrupt(path_, "truncated (no final record)", why);
  const auto flags = static_cast<unsigned char>(head[0]);
  const std::uint64_t len = get_be(head + 1, 4);
  if ((flags & ~kFinal) != 0 || len > kSealedRecordBytes)
    return corrupt(path_, "bad record header", why);
  std::string body(kNonceBytes + len + kTagBytes, '\0');
  if (auto r = read_exact(body.data(), body.size(), nullptr, why); !r) return r.error();
  if (!gcm_open(*key_, record_aad(header_, index_, head), body.data(), body.data() + kNonceBytes,
                len, body.data() + kNonceBytes + len, out))
    return corrupt(path_, "record " + std::to_string(index_) + " fails authentication", why);
  ++index_;
  if ((flags & kFinal) == 0) return true;
  done_ = true;
  char extra;
  eof = false;
  if (auto r = read_exact(&extra, 1, &eof, why); !r) return r.error();
  if (!eof) return corrupt(path_, "data after the final record", why);
  return false;
}

Result<std::shared_ptr<SealedFileSource>> SealedFileSource::open(
    const std::filesystem::path& path, std::shared_ptr<const SpoolKeyring> keys, OpenFailure* why) {
  auto f = open_sealed(path, SealedKind::Data, *keys, why);
  if (!f) return f.error();
  struct stat st {};
  if (::fstat(f->fd.get(), &st) != 0) {
    if (why) *why = OpenFailure::Io;
    return io_error(errno, "stat", path);
  }
  std::shared_ptr<SealedFileSource> src(new SealedFileSource());
  src->fd_ = std::move(f->fd);
  src->path_ = path;
  src->header_ = std::move(f->header);
  src->keys_ = std::move(keys);
  src->key_ = f->key;
  // Every record but the last holds kSealedRecordBytes: the file size says how
  // many records there are and how long the last one must be.
  constexpr std::uint64_t stride = kSealedRecordBytes + kSealedRecordOverhead;
  const auto body = static_cast<std::uint64_t>(st.st_size) - kSealedHeaderBytes;
  if (static_cast<std::uint64_t>(st.st_size) <= kSealedHeaderBytes)
    return corrupt(path, "truncated (no final record)", why);
  src->records_ = (body + stride - 1) / stride;
  const std::uint64_t last = body - (src->records_ - 1) * stride;
  if (last < kSealedRecordOverhead) return corrupt(path, "truncated record", why);
  src->size_ = (src->records_ - 1) * kSealedRecordBytes + (last - kSealedRecordOverhead);
  // The final record is authenticated now: it proves the file is complete.
  std::string plain;
  if (auto r = src->load_record(src->records_ - 1, plain, why); !r) return r.error();
  src->cached_index_ = src->records_ - 1;
  src->cached_ = std::move(plain);
  return src;
}

namespace {

// Clears the whole buffer, not only its current size: a shorter record read
// into it after a longer one leaves the longer one's tail behind.
void wipe(std::string& s) {
  s.resize(s.capacity());
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

SealedFileSource::~SealedFileSource() {
  wipe(cached_);
}

Result<void> SealedFileSource::verify_all(OpenFailure* why) const {
  std::string plain;
  Result<void> r;
  for (std::uint64_t i = 0; i + 1 < records_ && r; ++i) r = load_record(i, plain, why);
  wipe(plain);
  return r;
}

Result<void> SealedFileSource::load_record(std::uint64_t index, std::string& out,
                                           OpenFailure* why) const {
  constexpr std::uint64_t stride = kSealedRecordBytes + kSealedRecordOverhead;
  const bool final = index + 1 == records_;
  const std::size_t len =
      final ? static_cast<std::size_t>(size_ - index * kSealedRecordBytes) : kSealedRecordBytes;
  std::string raw(kRecordHead + kNonceBytes + len + kTagBytes, '\0');
  std::size_t got = 0;
  while (got < raw.size()) {
    const ssize_t r = ::pread(fd_.get(), raw.data() + got, raw.size() - got,
                              static_cast<off_t>(kSealedHeaderBytes + index * stride + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      if (why) *why = OpenFailure::Io;
      return io_error(errno, "read", path_);
    }
    if (r == 0) return corrupt(path_, "truncated record", why);
    got += static_cast<std::size_t>(r);
  }
  const auto flags = static_cast<unsigned char>(raw[0]);
  if (flags != (final ? kFinal : 0) || get_be(raw.data() + 1, 4) != len)
    return corrupt(path_, "record " + std::to_string(index) + " out of place", why);
  out.clear();
  const char* nonce = raw.data() + kRecordHead;
  if (!gcm_open(*key_, record_aad(header_, index, raw.data()), nonce, nonce + kNonceBytes, len,
                nonce + kNonceBytes + len, out))
    return corrupt(path_, "record " + std::to_string(index) + " fails authentication", why);
  return {};
}

Result<std::size_t> SealedFileSource::read_at(std::uint64_t offset, char* buf,
                                              std::size_t n) const {
  if (offset >= size_ || n == 0) return std::size_t{0};
  const std::uint64_t index = offset / kSealedRecordBytes;
  std::lock_guard lock(mu_);
  if (index != cached_index_) {
    cached_index_ = UINT64_MAX;
    if (auto r = load_record(index, cached_, nullptr); !r) return r.error();
    cached_index_ = index;
  }
  const auto in_record = static_cast<std::size_t>(offset - index * kSealedRecordBytes);
  const std::size_t take = std::min(n, cached_.size() - in_record);
  std::memcpy(buf, cached_.data() + in_record, take);
  return take;
}

Result<std::string> open_all(const std::filesystem::path& path, SealedKind kind,
                             const SpoolKeyring& keys, std::size_t max_plain, OpenFailure* why) {
  auto reader = SealedReader::open(path, kind, keys, why);
  if (!reader) return reader.error();
  std::string out;
  for (;;) {
    auto more = reader->next(out, why);
    if (!more) return more.error();
    if (out.size() > max_plain) return corrupt(path, "larger than allowed", why);
    if (!*more) return out;
  }
}

Result<KeyId> sealed_key_id(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return io_error(errno, "open", path);
  char header[kSealedHeaderBytes];
  if (::read(fd.get(), header, sizeof header) != static_cast<ssize_t>(sizeof header))
    return Error::plain("short header");
  KeyId id{};
  std::memcpy(id.data(), header + kKeyIdOffset, kKeyIdBytes);
  return id;
}

}  // namespace sealpost::spool
