#include "portal/pickup_crypto.h"

#include <sodium.h>

#include "common/secure_random.h"

namespace sealpost::pickup {
namespace {

constexpr int kB64Variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

// sodium_init picks the fastest safe implementations; it is idempotent.
void ensure_sodium() {
  static const int once = sodium_init();
  (void)once;
}

std::string blake2b_keyed(std::string_view key, std::string_view data) {
  ensure_sodium();
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return out;
}

std::string labelled(std::string_view label, std::string_view pickup_id) {
  std::string s(label);
  s += '|';
  s += pickup_id;
  return s;
}

}  // namespace

void SecretBytes::wipe() {
  if (!bytes_.empty()) sodium_memzero(bytes_.data(), bytes_.size());
  bytes_.clear();
}

SecretBytes new_link_secret() {
  return SecretBytes(random_bytes(kSecretBytes));
}

std::string encode_link_secret(const SecretBytes& secret) {
  std::string out(sodium_base64_ENCODED_LEN(secret.bytes().size(), kB64Variant), '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(secret.bytes().data()),
                    secret.bytes().size(), kB64Variant);
  out.resize(out.size() - 1);  // drop the terminating NUL sodium writes
  return out;
}

std::optional<SecretBytes> decode_link_secret(std::string_view text) {
  // 32 bytes are exactly 43 base64url characters; reject anything longer early.
  if (text.size() != 43) return std::nullopt;
  std::string bin(kSecretBytes, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), text.data(),
                        text.size(), nullptr, &len, &end, kB64Variant) != 0 ||
      len != kSecretBytes || end != text.data() + text.size())
    return std::nullopt;
  SecretBytes secret(std::move(bin));
  // Canonical encoding only, so one secret has exactly one spelling.
  if (encode_link_secret(secret) != text) return std::nullopt;
  return secret;
}

std::string derive_verifier(const SecretBytes& secret, std::string_view pickup_id) {
  return blake2b_keyed(secret.bytes(), labelled("sealpost-pickup-verifier", pickup_id));
}

SecretBytes derive_kek(const SecretBytes& secret, std::string_view pickup_id) {
  return SecretBytes(blake2b_keyed(secret.bytes(), labelled("sealpost-pickup-kek", pickup_id)));
}

SecretBytes derive_code_key(const SecretBytes& secret, std::string_view pickup_id) {
  return SecretBytes(blake2b_keyed(secret.bytes(), labelled("sealpost-pickup-code", pickup_id)));
}

std::string keyed_hash(const SecretBytes& key, std::string_view data) {
  return blake2b_keyed(key.bytes(), data);
}

SecretBytes new_content_key() {
  return SecretBytes(random_bytes(kKeyBytes));
}

std::string seal(const SecretBytes& key, std::string_view plaintext, std::string_view context) {
  std::string out = random_bytes(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const std::size_t header = out.size();
  out.resize(header + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(out.data() + header), &clen,
      reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(context.data()), context.size(), nullptr,
      reinterpret_cast<const unsigned char*>(out.data()),
      reinterpret_cast<const unsigned char*>(key.bytes().data()));
  out.resize(header + clen);
  return out;
}

Result<std::string> open(const SecretBytes& key, std::string_view sealed,
                         std::string_view context) {
  constexpr std::size_t n = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr std::size_t a = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  ensure_sodium();
  if (key.bytes().size() != kKeyBytes || sealed.size() < n + a)
    return Error::plain("pickup: sealed data too short or bad key");
  std::string out(sealed.size() - n - a, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr,
          reinterpret_cast<const unsigned char*>(sealed.data() + n), sealed.size() - n,
          reinterpret_cast<const unsigned char*>(context.data()), context.size(),
          reinterpret_cast<const unsigned char*>(sealed.data()),
          reinterpret_cast<const unsigned char*>(key.bytes().data())) != 0)
    return Error::plain("pickup: authentication of sealed data failed");
  out.resize(mlen);
  return out;
}

}  // namespace sealpost::pickup
