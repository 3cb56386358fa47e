// Fuzz target: what the IMAP side parses from mail anyone can send the
// practice, before any key is involved: the header/body split, Autocrypt
// headers, the search for an S/MIME signature and the inline-PGP check.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "imap/autocrypt.h"
#include "imap/header_fields.h"
#include "imap/inline_pgp.h"
#include "imap/smime_signed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealpost::imap;
  const std::string in(reinterpret_cast<const char*>(data), size);
  const SplitEntity e = split_entity(in);
  for (const auto& value : header_values(e.fields, "Autocrypt")) {
    if (auto a = parse_autocrypt(value); a && a->keydata.size() > value.size()) std::abort();
  }
  (void)find_smime_signature(in);
  (void)is_inline_pgp_message(in);
  return 0;
}
