// Hostile bytes through every scrub path that parses: the first byte picks
// one, so one corpus covers PNG (own parser), other images (exiv2), PDF
// (qpdf), OOXML (libzip, then the author rewriter), the OOXML author lexer on
// its own, the key-less signature checks, and a whole message through
// scrub_message (signed/encrypted structure checks, sniffing, attached
// message headers, TNEF). Errors are expected; crashes, hangs and escaped
// exceptions are not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "seal/message_parser.h"
#include "seal/scrub/attachment_cleaners.h"
#include "seal/scrub/ooxml_authors.h"
#include "seal/scrub/protected_parts.h"
#include "seal/scrub/scrub.h"

namespace {

void whole_message(std::string_view raw) {
  sealpost::seal::MimeLimits limits;
  limits.max_size = 1u << 20;
  auto parsed = sealpost::seal::parse_message(raw, limits);
  if (!parsed) return;
  sealpost::ScrubProfile profile;
  sealpost::scrub::ScrubContext ctx{.relay_hostname = "relay.invalid",
                                    .message_id_key = std::string(32, 'k'),
                                    .max_attachment_bytes = 1u << 20};
  (void)sealpost::scrub::scrub_message(parsed->get(), profile, ctx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      (void)sealpost::scrub::clean_png_metadata(bytes);
      break;
    case 1:
      (void)sealpost::scrub::clean_image_metadata(bytes);
      break;
    case 2:
      (void)sealpost::scrub::clean_pdf_metadata(bytes);
      break;
    case 3:
      (void)sealpost::scrub::clean_office_metadata(bytes);
      break;
    case 4:
    case 5: {
      std::string out;
      const int n = sealpost::scrub::neutralise_ooxml_authors(
          data[0] % 8 == 4 ? "word/comments.xml" : "xl/comments1.xml", bytes, out);
      if (n == 0 && out != bytes) std::abort();  // no change reported, none made
      if (out.size() > bytes.size() + 8 * static_cast<std::size_t>(n) + 8) std::abort();
      break;
    }
    case 6:
      (void)sealpost::scrub::is_openpgp_signature(bytes);
      (void)sealpost::scrub::is_cms_signed(bytes, true);
      (void)sealpost::scrub::is_cms_signed(bytes, false);
      break;
    default:
      whole_message(bytes);
      break;
  }
  return 0;
}
