#include <openssl/err.h>
#include <openssl/pem.h>

#include "keystore/openssl_ptr.h"

namespace sealpost::ossl {

std::string last_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();  // the queue is per thread; leave it empty for the next call
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return n > 0 ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace sealpost::ossl
