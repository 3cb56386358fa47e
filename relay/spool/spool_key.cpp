#include "relay/spool/spool_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/durable_file.h"
#include "common/secure_random.h"
#include "common/unique_fd.h"

namespace sealpost::spool {
namespace {

// Domain-separated so the id can never equal a hash of the key used elsewhere.
constexpr std::string_view kKeyIdLabel = "sealpost spool key id v1";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Raw 32 bytes, or 64 hex digits with an optional trailing newline.
Result<std::string> parse_key_text(std::string text, const std::string& where) {
  if (text.size() == kSpoolKeyBytes) return text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string raw;
  if (text.size() == 2 * kSpoolKeyBytes) {
    for (std::size_t i = 0; i < text.size(); i += 2) {
      const int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
      if (hi < 0 || lo < 0) {
        raw.clear();
        break;
      }
      raw.push_back(static_cast<char>(hi * 16 + lo));
    }
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (raw.size() != kSpoolKeyBytes)
    return Error::plain(where + ": a spool key is 32 raw bytes or 64 hex digits");
  return raw;
}

}  // namespace

Result<SpoolKey> SpoolKey::from_bytes(std::string_view raw, std::string source) {
  if (raw.size() != kSpoolKeyBytes)
    return Error::plain(source + ": a spool key is " + std::to_string(kSpoolKeyBytes) + " bytes");
  SpoolKey k;
  std::memcpy(k.key_.data(), raw.data(), raw.size());
  std::string label(kKeyIdLabel);
  label.append(raw);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(label.data()), label.size(), digest);
  OPENSSL_cleanse(label.data(), label.size());
  std::memcpy(k.id_.data(), digest, kKeyIdBytes);
  k.source_ = std::move(source);
  return k;
}

SpoolKey::~SpoolKey() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

std::string key_id_hex(const KeyId& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : id) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Result<SpoolKey> read_spool_key_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Error::plain("spool key " + path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Error::plain("spool key " + path.string() + ": not a file");
  if ((st.st_mode & 077) != 0)
    return Error::plain("spool key " + path.string() +
                        ": readable or writable by group or others (chmod 600)");
  auto text = read_file(path, 2 * kSpoolKeyBytes + 2);
  if (!text) return Error::plain("spool key " + path.string() + ": " + text.error().what());
  auto raw = parse_key_text(std::move(text).value(), "spool key " + path.string());
  if (!raw) return raw.error();
  auto key = SpoolKey::from_bytes(*raw, path.string());
  OPENSSL_cleanse(raw->data(), raw->size());
  return key;
}

Result<SpoolKey> create_spool_key_file(const std::filesystem::path& path) {
  // Written to a temporary file and synced first, then link()ed to its name:
  // a crash never leaves an empty or short key behind (on which the daemon
  // would refuse to start), and link() fails with EEXIST where another
  // starter got there first, so two processes never make two keys.
  std::filesystem::path tmp = path;
  tmp += ".tmp." + random_token(8);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return io_error(errno, "create", tmp);
  std::string raw = random_bytes(kSpoolKeyBytes);
  const bool ok = ::write(fd.get(), raw.data(), raw.size()) == static_cast<ssize_t>(raw.size()) &&
                  ::fsync(fd.get()) == 0;
  int err = errno;
  fd.reset();
  if (ok && ::link(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    OPENSSL_cleanse(raw.data(), raw.size());
    return io_error(err, "create", path);
  }
  ::unlink(tmp.c_str());
  if (!ok) {
    OPENSSL_cleanse(raw.data(), raw.size());
    return io_error(err, "write", tmp);
  }
  (void)fsync_dir(path.parent_path().empty() ? "." : path.parent_path());
  auto key = SpoolKey::from_bytes(raw, path.string());
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

}  // namespace sealpost::spool
