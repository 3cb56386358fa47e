// Fuzzes the spool envelope decoder (relay/spool/envelope_codec.h). Envelopes
// are our own files, but a damaged disk or a restored backup can hand us any
// bytes: decoding must never crash, hang or accept something it cannot
// re-encode identically.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relay/spool/envelope_codec.h"

namespace {

void check(std::string_view bytes) {
  using namespace sealpost;
  auto env = spool::decode_envelope(bytes);
  if (!env) return;
  // Whatever decodes must round-trip: encode -> decode -> encode is stable.
  const std::string once = spool::encode_envelope(*env);
  auto again = spool::decode_envelope(once);
  if (!again || spool::encode_envelope(*again) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(input);
  // Random bytes almost never carry a valid SHA-256: also try the input with
  // a correct END record appended, so the record parser itself gets fuzzed.
  std::string sealed(input);
  sealpost::spool::append_envelope_trailer(sealed);
  check(sealed);
  return 0;
}
