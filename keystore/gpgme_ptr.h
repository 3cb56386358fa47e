// RAII for GPGME handles plus the one-time library initialisation.
#pragma once

#include <gpgme.h>

#include <memory>
#include <string>

namespace sealpost::gpg {

struct CtxDeleter {
  void operator()(gpgme_ctx_t c) const { gpgme_release(c); }
};
struct DataDeleter {
  void operator()(gpgme_data_t d) const { gpgme_data_release(d); }
};
struct KeyDeleter {
  void operator()(gpgme_key_t k) const { gpgme_key_unref(k); }
};
using CtxPtr = std::unique_ptr<gpgme_context, CtxDeleter>;
using DataPtr = std::unique_ptr<gpgme_data, DataDeleter>;
using KeyPtr = std::unique_ptr<_gpgme_key, KeyDeleter>;

// gpgme_check_version must run once before any other call (thread-safe).
void ensure_initialised();

// "what: gpg error text" for Error reasons.
std::string describe(const char* what, gpgme_error_t err);

}  // namespace sealpost::gpg
