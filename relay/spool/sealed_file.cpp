#include "relay/spool/sealed_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

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
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kRecordHead = 5;  // flags + length
constexpr unsigned char kFinal = 1;

static_assert(kSealedHeaderBytes == 4 + 1 + 1 + kKeyIdBytes + kSaltBytes);
static_assert(kSealedRecordOverhead == kRecordHead + kNonceBytes + kTagBytes);

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

std::string_view magic_for(SealedKind kind) {
  return kind == SealedKind::Envelope ? kEnvelopeMagic : kDataMagic;
}

const unsigned char* u8(const char* p) {
  return reinterpret_cast<const unsigned char*>(p);
}
unsigned char* u8(char* p) {
  return reinterpret_cast<unsigned char*>(p);
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
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return false;
  int n = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes(), u8(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, u8(aad.data()), static_cast<int>(aad.size())) != 1)
    return false;
  const std::size_t start = out.size();
  out.resize(start + len);
  if (len > 0 && EVP_DecryptUpdate(ctx.get(), u8(out.data() + start), &n, u8(ct),
                                   static_cast<int>(len)) != 1) {
    out.resize(start);
    return false;
  }
  // OpenSSL's API takes a non-const tag buffer; it only reads it.
  char tag_copy[kTagBytes];
  std::memcpy(tag_copy, tag, kTagBytes);
  int fin = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag_copy) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), u8(out.data() + start), &fin) != 1) {
    out.resize(start);  // never hand out unauthenticated plaintext
    return false;
  }
  return true;
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

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.bytes(), u8(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, u8(aad.data()), static_cast<int>(aad.size())) != 1)
    return Error::temp("4.3.0", "Local error in processing", "spool encryption setup failed");
  const std::size_t start = out.size();
  out.append(head);
  out.append(nonce);
  const std::size_t ct = out.size();
  out.resize(ct + plain.size() + kTagBytes);
  int fin = 0;
  if ((!plain.empty() && EVP_EncryptUpdate(ctx.get(), u8(out.data() + ct), &n, u8(plain.data()),
                                           static_cast<int>(plain.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), u8(out.data() + ct), &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          out.data() + ct + plain.size()) != 1) {
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

Result<SealedReader> SealedReader::open(const std::filesystem::path& path, SealedKind kind,
                                        const SpoolKeyring& keys, OpenFailure* why) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (why) *why = OpenFailure::Io;
    return io_error(errno, "open", path);
  }
  std::string header(kSealedHeaderBytes, '\0');
  std::size_t got = 0;
  while (got < header.size()) {
    const ssize_t n = ::read(fd.get(), header.data() + got, header.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (why) *why = OpenFailure::Io;
      return io_error(errno, "read", path);
    }
    if (n == 0) return corrupt(path, "truncated header", why);
    got += static_cast<std::size_t>(n);
  }
  if (std::string_view(header).substr(0, 4) != magic_for(kind))
    return corrupt(path, "bad magic", why);
  if (static_cast<unsigned char>(header[4]) != kVersion)
    return corrupt(path, "unknown version", why);
  if (header[5] == 0) return corrupt(path, "stored unencrypted (written before issue 8)", why);
  if (static_cast<unsigned char>(header[5]) != kCipherAesGcm)
    return corrupt(path, "unknown cipher", why);
  KeyId id{};
  std::memcpy(id.data(), header.data() + kKeyIdOffset, kKeyIdBytes);
  const SpoolKey* key = keys.find(id);
  if (key == nullptr) {
    if (why) *why = OpenFailure::UnknownKey;
    return Error::plain("spool file " + path.filename().string() + " is sealed with key id " +
                        key_id_hex(id) +
                        ", which is neither queue.spool_key nor in queue.spool_old_keys");
  }
  return SealedReader(std::move(fd), std::move(header), *key, path);
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
