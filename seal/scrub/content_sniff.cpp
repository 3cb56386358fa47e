#include "seal/scrub/content_sniff.h"

#include <cctype>

namespace sealpost::scrub {

namespace {

bool starts(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool istarts(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// WHATWG MIME Sniffing 7.1 "HTML" patterns (plus svg/img/meta/link, which a
// browser renders as well): leading whitespace, the tag, then space or '>'.
bool looks_like_markup(std::string_view head) {
  using namespace std::string_view_literals;
  if (starts(head, "\xEF\xBB\xBF"sv)) head.remove_prefix(3);  // UTF-8 BOM
  const auto first = head.find_first_not_of(" \t\r\n\f");
  if (first == std::string_view::npos) return false;
  head.remove_prefix(first);
  if (istarts(head, "<?xml"sv)) {
    // XHTML or SVG: the root element follows the prolog.
    for (std::string_view root : {"<svg"sv, "<html"sv, "<!doctype html"sv})
      for (std::size_t at = head.find('<', 1); at != std::string_view::npos;
           at = head.find('<', at + 1))
        if (istarts(head.substr(at), root)) return true;
    return false;
  }
  if (istarts(head, "<!--"sv)) return true;
  for (std::string_view tag : {"<!doctype html"sv,
                               "<html"sv,
                               "<head"sv,
                               "<script"sv,
                               "<iframe"sv,
                               "<h1"sv,
                               "<div"sv,
                               "<font"sv,
                               "<table"sv,
                               "<a"sv,
                               "<style"sv,
                               "<title"sv,
                               "<b"sv,
                               "<body"sv,
                               "<br"sv,
                               "<p"sv,
                               "<svg"sv,
                               "<img"sv,
                               "<meta"sv,
                               "<link"sv}) {
    if (!istarts(head, tag)) continue;
    const char next = head.size() > tag.size() ? head[tag.size()] : '\0';
    if (next == ' ' || next == '>' || next == '\t' || next == '\n' || next == '\r' ||
        next == '\f' || next == '/')
      return true;
  }
  return false;
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
  if (starts(head, "\x78\x9F\x3E\x22"sv)) return Sniffed::Tnef;  // TNEF signature, little endian
  if (looks_like_markup(head)) return Sniffed::Html;
  return Sniffed::Unknown;
}

}  // namespace sealpost::scrub
