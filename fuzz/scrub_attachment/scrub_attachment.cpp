// Hostile attachment bytes through every cleaner: the first byte picks the
// cleaner so one corpus covers PNG (own parser), other images (exiv2), PDF
// (qpdf) and OOXML (libzip). Errors are expected; crashes, hangs and escaped exceptions are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "seal/scrub/attachment_cleaners.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      (void)sealpost::scrub::clean_png_metadata(bytes);
      break;
    case 1:
      (void)sealpost::scrub::clean_image_metadata(bytes);
      break;
    default:
      (void)sealpost::scrub::clean_pdf_metadata(bytes);
      break;
  }
  return 0;
}
