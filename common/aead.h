// AES-256-GCM for one record at a time: what every file Sealpost keeps at
// rest is made of (the spool's sealed files, a message's spill file).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sealpost::aead {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 12;
inline constexpr std::size_t kTagBytes = 16;

// Appends ciphertext || tag for `plain` to `out`; false if OpenSSL failed
// (then `out` is unchanged). `key` has kKeyBytes, `nonce` kNonceBytes.
bool seal(const unsigned char* key, const char* nonce, std::string_view aad, std::string_view plain,
          std::string& out);

// Authenticates and decrypts `ct` (ciphertext without the tag) and appends
// the plaintext to `out` only when the tag checks out.
bool open(const unsigned char* key, const char* nonce, std::string_view aad, std::string_view ct,
          const char* tag, std::string& out);

}  // namespace sealpost::aead
