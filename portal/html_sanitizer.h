// Turns an untrusted HTML mail body into inert HTML for the read page. The
// document is parsed with gumbo (the HTML5 algorithm browsers use, so we see
// what a browser would) and re-serialised from an allow-list: no scripts,
// event handlers, forms, frames, images or other remote resources, no style
// (so no CSS url()), links only to http(s) and mailto.
#pragma once

#include <string>
#include <string_view>

#include "common/html_escape.h"  // html_escape, used with the sanitizer

namespace sealpost::portal {

inline constexpr std::size_t kMaxHtmlInput = 4u << 20;
// Elements nested deeper than this (counted from the document root) lose
// their markup, their text stays; from twice this depth on the rest of a
// subtree is collected as text without recursion (docs/portal.md).
inline constexpr int kMaxHtmlDepth = 64;

std::string sanitize_html(std::string_view html);

}  // namespace sealpost::portal
