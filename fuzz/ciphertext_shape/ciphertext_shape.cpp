// Fuzz target: the key-less ciphertext checks (armor, OpenPGP packet framing,
// CMS DER) that decide whether mail counts as already encrypted. They read
// lengths from untrusted bytes, so any out-of-bounds read or hang is a bug.
#include "seal/ciphertext_shape.h"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealpost::seal;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)is_openpgp_ciphertext(in);
  (void)is_openpgp_encrypted_message(in);
  (void)is_cms_enveloped(in);
  return 0;
}
