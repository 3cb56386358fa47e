// Fuzz target: what the IMAP side parses from mail anyone can send the
// practice, before any key is involved: the header/body split, Autocrypt
// headers, the search for an S/MIME signature, the inline-PGP check and the
// OpenPGP packet framing (which encrypted-data packet a message has); and
// what a decrypted entity (as untrusted as the rest) turns into: protected
// headers promoted into the readable copy, and the copy mark check.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "imap/autocrypt.h"
#include "imap/copy_marker.h"
#include "imap/header_fields.h"
#include "imap/inline_pgp.h"
#include "imap/pgp_packets.h"
#include "imap/readable_message.h"
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
  (void)encrypted_data_tag(in);
  const bool hp = is_header_protected(header_value(e.fields, "Content-Type"));
  const auto promoted = protected_fields(e, hp);
  const std::string copy = build_readable(e.fields, e, ReadableStatus{"yes", "none", ""}, promoted);
  const CopyMarker marker(std::string(32, 'k'));
  if (!marker.is_ours(split_entity(marker.stamp(copy, "v1 0")))) std::abort();
  (void)marker.is_ours(e);
  return 0;
}
