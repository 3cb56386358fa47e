#include <openssl/err.h>

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

}  // namespace sealpost::ossl
