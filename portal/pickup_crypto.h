// The cryptography of a pickup (see docs/portal.md, "Link secret"):
//   secret S   : 32 random bytes, exists only in the link (base64url, 43 chars)
//   verifier   : BLAKE2b-256 keyed by S over "sealpost-pickup-verifier|" + id
//   KEK        : BLAKE2b-256 keyed by S over "sealpost-pickup-kek|" + id
//   content key: 32 fresh random bytes per recipient, wrapped under the KEK
//   blob       : XChaCha20-Poly1305(content key, message), id as associated data
// The store keeps only the verifier and the wrapped key: without the link the
// disk and the database reveal nothing, and deleting them shreds the content.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost::pickup {

inline constexpr std::size_t kSecretBytes = 32;
inline constexpr std::size_t kKeyBytes = 32;

// Secret bytes that wipe themselves on destruction.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string bytes) : bytes_(std::move(bytes)) {}
  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes&) = default;
  SecretBytes(SecretBytes&& o) noexcept : bytes_(std::move(o.bytes_)) { o.wipe(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    wipe();
    bytes_ = std::move(o.bytes_);
    o.wipe();
    return *this;
  }
  ~SecretBytes() { wipe(); }
  const std::string& bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  void wipe();

 private:
  std::string bytes_;
};

SecretBytes new_link_secret();
std::string encode_link_secret(const SecretBytes& secret);
// Accepts exactly the encoding produced above; anything else is nullopt.
std::optional<SecretBytes> decode_link_secret(std::string_view text);

std::string derive_verifier(const SecretBytes& secret, std::string_view pickup_id);
SecretBytes derive_kek(const SecretBytes& secret, std::string_view pickup_id);
// Key for hashing one-time codes so a copy of the index cannot brute-force them.
SecretBytes derive_code_key(const SecretBytes& secret, std::string_view pickup_id);
std::string keyed_hash(const SecretBytes& key, std::string_view data);

SecretBytes new_content_key();
// nonce || ciphertext; `context` is bound as associated data.
std::string seal(const SecretBytes& key, std::string_view plaintext, std::string_view context);
Result<std::string> open(const SecretBytes& key, std::string_view sealed, std::string_view context);

}  // namespace sealpost::pickup
