#include "keystore/gpgme_ptr.h"

#include <clocale>
#include <mutex>

namespace sealpost::gpg {

void ensure_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    gpgme_check_version(nullptr);
    gpgme_set_locale(nullptr, LC_CTYPE, "C");
  });
}

std::string describe(const char* what, gpgme_error_t err) {
  return std::string(what) + ": " + gpgme_strerror(err);
}

}  // namespace sealpost::gpg
