#include "seal/scrub/content_sniff.h"

namespace sealpost::scrub {

namespace {

bool starts(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

Sniffed sniff_content(std::string_view head) {
  using namespace std::string_view_literals;
  if (starts(head, "\xFF\xD8\xFF"sv)) return Sniffed::Jpeg;
  if (starts(head, "\x89PNG\r\n\x1A\n"sv)) return Sniffed::Png;
  if (starts(head, "II*\0"sv) || starts(head, "MM\0*"sv)) return Sniffed::Tiff;
  if (head.size() >= 12 && starts(head, "RIFF"sv) && head.substr(8, 4) == "WEBP"sv)
    return Sniffed::Webp;
  if (starts(head, "GIF87a"sv) || starts(head, "GIF89a"sv)) return Sniffed::Gif;
  if (head.size() >= 12 && head.substr(4, 4) == "ftyp"sv) {
    const std::string_view brand = head.substr(8, 4);
    for (std::string_view b :
         {"heic"sv, "heix"sv, "hevc"sv, "heim"sv, "heis"sv, "mif1"sv, "msf1"sv, "avif"sv, "avis"sv})
      if (brand == b) return Sniffed::Heif;
  }
  // PDF readers accept the header anywhere in the first 1024 bytes.
  if (head.substr(0, 1024).find("%PDF-"sv) != std::string_view::npos) return Sniffed::Pdf;
  // ZIP local file header; OOXML writers put [Content_Types].xml first.
  if (starts(head, "PK\x03\x04"sv)) {
    if (head.size() < 30) return Sniffed::Zip;
    const auto name_len = static_cast<unsigned char>(head[26]) |
                          (static_cast<std::size_t>(static_cast<unsigned char>(head[27])) << 8);
    if (head.substr(30, name_len) == "[Content_Types].xml"sv) return Sniffed::Ooxml;
    return Sniffed::Zip;
  }
  return Sniffed::Unknown;
}

}  // namespace sealpost::scrub
