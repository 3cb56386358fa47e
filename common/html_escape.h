// Escapes text for an HTML element body or a double- or single-quoted
// attribute value (&, <, >, ", '); NUL bytes are dropped. Used by the portal's
// pages and sanitizer and by the legacy display of header protection.
#pragma once

#include <string>
#include <string_view>

namespace sealpost {

std::string html_escape(std::string_view text);

}  // namespace sealpost
