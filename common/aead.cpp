#include "common/aead.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace sealpost::aead {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* u8(const char* p) {
  return reinterpret_cast<const unsigned char*>(p);
}
unsigned char* u8(char* p) {
  return reinterpret_cast<unsigned char*>(p);
}

}  // namespace

bool seal(const unsigned char* key, const char* nonce, std::string_view aad, std::string_view plain,
          std::string& out) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key, u8(nonce)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &n, u8(aad.data()),
                                         static_cast<int>(aad.size())) != 1))
    return false;
  const std::size_t start = out.size();
  // resize() zero-fills what the cipher overwrites at once; a 64 KiB memset
  // per record is cheaper than a second buffer and a copy.
  out.resize(start + plain.size() + kTagBytes);
  char* ct = out.data() + start;
  int fin = 0;
  if ((!plain.empty() && EVP_EncryptUpdate(ctx.get(), u8(ct), &n, u8(plain.data()),
                                           static_cast<int>(plain.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), u8(ct), &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plain.size()) != 1) {
    out.resize(start);
    return false;
  }
  return true;
}

bool open(const unsigned char* key, const char* nonce, std::string_view aad, std::string_view ct,
          const char* tag, std::string& out) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key, u8(nonce)) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &n, u8(aad.data()),
                                         static_cast<int>(aad.size())) != 1))
    return false;
  const std::size_t start = out.size();
  out.resize(start + ct.size());
  if (!ct.empty() && EVP_DecryptUpdate(ctx.get(), u8(out.data() + start), &n, u8(ct.data()),
                                       static_cast<int>(ct.size())) != 1) {
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

}  // namespace sealpost::aead
