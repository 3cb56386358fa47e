// PNG metadata removal by chunk filtering. exiv2 0.27 leaves plain tEXt
// chunks (e.g. "Artist") in place, so PNGs are rebuilt here from an allow list
// of chunks that affect rendering; every text, EXIF, time and unknown chunk is
// dropped. Pixel data (IDAT) is copied byte for byte.
#include <array>
#include <cstdint>

#include "seal/scrub/attachment_cleaners.h"

namespace sealpost::scrub {
namespace {

constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);

// Chunks needed to draw the image the same way (PNG spec + APNG animation).
constexpr std::array<std::string_view, 15> kKeep = {"IHDR", "PLTE", "IDAT", "IEND", "tRNS",
                                                    "gAMA", "cHRM", "sRGB", "iCCP", "sBIT",
                                                    "bKGD", "pHYs", "acTL", "fcTL", "fdAT"};

std::uint32_t be32(std::string_view s, std::size_t at) {
  auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

bool is_png(std::string_view bytes) {
  return bytes.substr(0, 8) == kSignature;
}

Result<std::string> clean_png_metadata(std::string_view bytes) {
  if (!is_png(bytes)) return Error::plain("image: not a PNG");
  std::string out(kSignature);
  out.reserve(bytes.size());
  std::size_t pos = kSignature.size();
  bool seen_iend = false;
  while (!seen_iend) {
    // length(4) type(4) data(length) crc(4), all bounds-checked before use.
    if (bytes.size() - pos < 12) return Error::plain("image: truncated PNG");
    const std::uint32_t length = be32(bytes, pos);
    if (length > bytes.size() - pos - 12) return Error::plain("image: PNG chunk overruns file");
    const std::string_view type = bytes.substr(pos + 4, 4);
    const std::size_t total = 12 + static_cast<std::size_t>(length);
    for (auto keep : kKeep) {
      if (type == keep) {
        out.append(bytes.substr(pos, total));
        break;
      }
    }
    seen_iend = type == "IEND";
    pos += total;
  }
  return out;  // anything after IEND is dropped too
}

}  // namespace sealpost::scrub
