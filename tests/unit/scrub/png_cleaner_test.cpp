#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "seal/scrub/attachment_cleaners.h"

using sealpost::scrub::clean_png_metadata;

namespace {
// CRC values are not checked by the filter; zeros keep the fixture readable.
std::string chunk(const std::string& type, const std::string& data) {
  std::string out;
  const auto n = static_cast<std::uint32_t>(data.size());
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<char>((n >> shift) & 0xff));
  return out + type + data + std::string(4, '\0');
}
const std::string kSig("\x89PNG\r\n\x1a\n", 8);
}  // namespace

TEST_CASE("PNG filter keeps rendering chunks and drops text/EXIF/time") {
  const std::string ihdr = chunk("IHDR", std::string(13, '\1'));
  const std::string idat = chunk("IDAT", "pixels");
  const std::string iend = chunk("IEND", "");
  const std::string in = kSig + ihdr + chunk("tEXt", std::string("Artist\0Dr X", 11)) +
                         chunk("eXIf", "MM*gps") + chunk("tIME", "1234567") + idat + iend +
                         "trailing";
  auto out = clean_png_metadata(in);
  REQUIRE(out.ok());
  CHECK(*out == kSig + ihdr + idat + iend);
}

TEST_CASE("PNG filter rejects truncated and overrunning chunks") {
  CHECK_FALSE(clean_png_metadata(kSig).ok());
  CHECK_FALSE(clean_png_metadata(kSig + chunk("IHDR", "x").substr(0, 9)).ok());
  std::string overrun = kSig + chunk("IDAT", "abc");
  overrun[8 + 3] = '\x7f';  // length says 127 bytes, only 3 follow
  CHECK_FALSE(clean_png_metadata(overrun).ok());
  std::string huge = kSig + chunk("IDAT", "abc");
  huge[8] = '\xff';  // 4 GiB length must not wrap the bounds check
  CHECK_FALSE(clean_png_metadata(huge).ok());
  CHECK_FALSE(clean_png_metadata("GIF89a").ok());
}
