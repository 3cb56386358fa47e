// Remote content out of HTML (and SVG/XHTML) parts: remote images (replaced
// by their alt text), <link>, <base>, <meta http-equiv=refresh|link>,
// <script> elements, event-handler attributes, remote frames/objects/embeds,
// fetching attributes (src, srcset, background, poster, data, ping, ...),
// SVG references (href, xlink:href, presentation attributes with url()),
// iframe srcdoc, and CSS that fetches in style attributes and <style>
// elements (see css_scrub.h; SVG <style> with entities or CDATA is decoded
// first). cid: and data: images stay. Gumbo (an HTML5 parser) finds the
// ranges; the edits are applied to the original bytes so everything else is
// left as written.
#pragma once

#include <string>
#include <string_view>

namespace sealpost::scrub {

struct HtmlScrubResult {
  std::string html;
  int remote_removed = 0;
};

// True for a reference that loads nothing from the network (cid:, data:, #frag, empty).
bool is_local_reference(std::string_view url);

HtmlScrubResult scrub_html(std::string_view html);

}  // namespace sealpost::scrub
