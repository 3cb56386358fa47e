// Remote fetches out of CSS. The text is tokenised as CSS Syntax Level 3
// does (comments, strings, escapes such as "\75 rl(" or "@\69mport", url
// tokens), so what is matched is what a browser would see. Whole statements
// go, never a part of one: a declaration ("background: url(https://t/p)")
// up to its ';', an at-rule ("@import ...;"), or a rule whose prelude fetches
// together with its block. Fetching means: a url() / src() whose target is
// not local (is_local_reference), an image-set() / image() / cross-fade()
// naming a non-local string, any of those built from var()/env()/attr()
// (their value is unknown here), a malformed url token, IE's expression(),
// and every @import.
#pragma once

#include <string>
#include <string_view>

namespace sealpost::scrub {

struct CssScrubResult {
  std::string css;
  int removed = 0;  // remote references inside the removed statements
};

// Works for style sheets and for declaration lists (style="..."); input that
// fetches nothing comes back byte for byte with removed == 0.
CssScrubResult scrub_css(std::string_view css);

// True when `css` (a sheet, a declaration list or one property value such
// as an SVG fill="url(...)") would fetch anything.
bool css_fetches(std::string_view css);

}  // namespace sealpost::scrub
