#include "seal/scrub/content_sniff.h"

#include <catch2/catch.hpp>
#include <string>

using namespace sealpost::scrub;
using namespace std::string_literals;

TEST_CASE("attachments are recognised by their first bytes, not their label") {
  CHECK(sniff_content("\xFF\xD8\xFF\xE1....Exif"s) == Sniffed::Jpeg);
  CHECK(sniff_content("\x89PNG\r\n\x1A\n\0\0\0\rIHDR"s) == Sniffed::Png);
  CHECK(sniff_content("II*\0\x08\0\0\0"s) == Sniffed::Tiff);
  CHECK(sniff_content("MM\0*\0\0\0\x08"s) == Sniffed::Tiff);
  CHECK(sniff_content("RIFF\x10\0\0\0WEBPVP8 "s) == Sniffed::Webp);
  CHECK(sniff_content("\0\0\0\x18"
                      "ftypheic\0\0\0\0mif1heic"s) == Sniffed::Heif);
  CHECK(sniff_content("\0\0\0\x1c"
                      "ftypavif"s) == Sniffed::Heif);
  CHECK(sniff_content("\0\0\0\x18"
                      "ftypisom"s) == Sniffed::Unknown);  // an MP4 video
  CHECK(sniff_content("GIF89a\x01\0"s) == Sniffed::Gif);
  CHECK(sniff_content("%PDF-1.7\n"s) == Sniffed::Pdf);
  CHECK(sniff_content(std::string(500, ' ') + "%PDF-1.4") == Sniffed::Pdf);
  std::string zip = "PK\x03\x04"s + std::string(26, '\0');  // 30-byte local header
  zip[26] = 19;
  CHECK(sniff_content(zip + "[Content_Types].xml") == Sniffed::Ooxml);
  CHECK(sniff_content(zip + "word/document.xml..") == Sniffed::Zip);
  CHECK(sniff_content("PK\x03\x04"s) == Sniffed::Zip);  // too short to read a name
  CHECK(sniff_content("") == Sniffed::Unknown);
  CHECK(sniff_content("Befund: positiv") == Sniffed::Unknown);
  // A name length beyond the buffer is not read past it.
  std::string truncated = zip;
  truncated[26] = '\xff';
  CHECK(sniff_content(truncated + "[Content") == Sniffed::Zip);
}

TEST_CASE("markup and Outlook's winmail.dat are recognised") {
  CHECK(sniff_content("<!DOCTYPE html><html>") == Sniffed::Html);
  CHECK(sniff_content("\xEF\xBB\xBF  \r\n<HTML lang=de>"s) == Sniffed::Html);
  CHECK(sniff_content("<p>Befund</p>") == Sniffed::Html);
  CHECK(sniff_content("<img src=x>") == Sniffed::Html);
  CHECK(sniff_content("<!-- x -->") == Sniffed::Html);
  CHECK(sniff_content("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\">") ==
        Sniffed::Html);
  CHECK(sniff_content("<?xml version=\"1.0\"?><invoice/>") == Sniffed::Unknown);
  CHECK(sniff_content("<pre>") == Sniffed::Unknown);  // "<p" must end the tag name
  CHECK(sniff_content("<abc>") == Sniffed::Unknown);
  CHECK(sniff_content("Hallo <b>Welt</b>") == Sniffed::Unknown);
  CHECK(sniff_content("\x78\x9F\x3E\x22\x01\x00"s) == Sniffed::Tnef);
}
