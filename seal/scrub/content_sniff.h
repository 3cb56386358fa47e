// What an attachment really is, from its first bytes. Clients label photos
// and documents application/octet-stream (or image/heic, application/msword,
// ...): going by the label alone would let GPS coordinates and author names
// leave unscrubbed. The magic numbers come from the formats' specifications
// (JPEG SOI, PNG signature, TIFF byte-order mark, RIFF/WEBP, ISO BMFF ftyp,
// "%PDF-", a ZIP whose first entry is OOXML's [Content_Types].xml, the TNEF
// signature, WHATWG MIME sniffing's HTML tag patterns).
#pragma once

#include <string_view>

namespace sealpost::scrub {

enum class Sniffed {
  Unknown,
  Jpeg,
  Png,
  Tiff,
  Webp,
  Heif,  // HEIC/HEIF/AVIF: EXIF inside, no cleaner for it here
  Gif,   // no standard place for GPS or author data
  Pdf,
  Ooxml,  // a ZIP whose first entry is [Content_Types].xml
  Zip,    // another ZIP: may still be OOXML (entry order varies), check the whole file
  Tnef,   // Outlook's winmail.dat: sender properties and attachments inside
  Html,   // HTML, XHTML or SVG markup: a browser opening it fetches remote content
};

// `head`: the first bytes of the decoded content (4 KiB is plenty).
Sniffed sniff_content(std::string_view head);

}  // namespace sealpost::scrub
