#include "relay/delivery/tls_peer_verify.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <memory>

namespace sealpost::delivery {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct ChainFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};

Error tls_failure(std::string reason) {
  // Temporary on purpose: a certificate problem is fixed by an admin, and the
  // queue must keep the mail until then instead of bouncing it.
  return Error::make(454, "4.7.5", "TLS certificate verification of the smarthost failed",
                     std::move(reason));
}

std::unique_ptr<X509, X509Free> parse_der(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return std::unique_ptr<X509, X509Free>(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<void> verify_peer_chain(const std::vector<std::string>& der_chain,
                               const std::string& ca_file, const std::string& host) {
  if (der_chain.empty()) return tls_failure("peer presented no certificate");
  if (host.empty()) return tls_failure("no host name to verify against");

  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  if (!store) return tls_failure("out of memory");
  struct stat st {};
  const bool is_dir = ::stat(ca_file.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const int loaded = is_dir ? X509_STORE_load_path(store.get(), ca_file.c_str())
                            : X509_STORE_load_file(store.get(), ca_file.c_str());
  if (loaded != 1) {
    ERR_clear_error();
    return tls_failure("cannot load CA certificates from " + ca_file);
  }

  auto leaf = parse_der(der_chain.front());
  if (!leaf) return tls_failure("peer certificate is not valid DER");
  std::unique_ptr<STACK_OF(X509), ChainFree> untrusted(sk_X509_new_null());
  if (!untrusted) return tls_failure("out of memory");
  for (std::size_t i = 1; i < der_chain.size(); ++i) {
    auto cert = parse_der(der_chain[i]);
    if (!cert) return tls_failure("intermediate certificate is not valid DER");
    if (sk_X509_push(untrusted.get(), cert.get()) <= 0) return tls_failure("out of memory");
    (void)cert.release();  // now owned by the stack
  }

  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1)
    return tls_failure("cannot initialise verification");
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  const int name_set = is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                                           : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (name_set != 1) return tls_failure("cannot set expected host name");
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return tls_failure(std::string("smarthost certificate rejected: ") +
                       X509_verify_cert_error_string(err));
  }
  return {};
}

}  // namespace sealpost::delivery
