// Remote content out of HTML bodies: remote images (replaced by their alt
// text), <link>, remote <iframe>/<object>/<embed>, background= and srcset
// attributes, and CSS url() in style attributes and <style> blocks. cid: and
// data: references stay. Gumbo (an HTML5 parser) finds the ranges; the edits
// are applied to the original bytes so everything else is left as written.
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

// Replaces every url(...) naming a remote resource in CSS text by "none".
std::string neutralise_css_urls(std::string_view css, int& removed);

HtmlScrubResult scrub_html(std::string_view html);

}  // namespace sealpost::scrub
