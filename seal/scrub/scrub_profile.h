// What a scrub profile removes. Profiles are named in policy.yaml
// (`scrub_profiles:`) and chosen per rule (`scrub: NAME`); `standard` always
// exists and is the safe default. The policy loader fills this struct; seal/scrub
// carries it out.
#pragma once

#include <string>
#include <vector>

namespace sealpost {

struct ScrubProfile {
  std::string name = "standard";
  // Headers: in "strip" mode the built-in tracking list plus `remove_headers`
  // go; in "allow" mode only the RFC 5322/MIME essentials plus `keep_headers` stay.
  enum class HeaderMode { Strip, Allow } header_mode = HeaderMode::Strip;
  std::vector<std::string> remove_headers;  // extra names; "X-Foo-*" globs allowed
  std::vector<std::string> keep_headers;    // allow mode: extra names kept
  bool rewrite_message_id = true;           // replace Message-IDs that name internal hosts
  bool image_metadata = true;               // EXIF/XMP/IPTC in JPEG/PNG/TIFF/WebP
  bool pdf_metadata = true;                 // PDF Info dictionary and XMP
  bool office_metadata = true;              // OOXML docProps/core.xml
  bool html_remote_content = true;          // remote images, CSS url(), <link>, prefetch
  // A broken attachment that cannot be scrubbed: pass it unmodified (true) or
  // hold the recipient with a reason (false, the safe default).
  bool pass_unscrubbable = false;
};

}  // namespace sealpost
