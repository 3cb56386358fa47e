// Hostile HTML through the remote-content rewriter, and the same bytes as CSS
// through the CSS tokeniser. Besides not crashing or reading out of bounds, a
// pass that reports no edit must return the input byte for byte, scrubbing
// scrubbed CSS again finds nothing left to fetch, and output never grows
// beyond what escaping can explain.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "seal/scrub/css_scrub.h"
#include "seal/scrub/html_scrub.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;
  const std::string_view html(reinterpret_cast<const char*>(data), size);
  auto first = sealpost::scrub::scrub_html(html);
  if (first.remote_removed == 0 && first.html != html) std::abort();  // no edit, no change
  if (first.html.size() > 6 * size + 16) std::abort();
  const auto css = sealpost::scrub::scrub_css(html);
  if (css.removed == 0 && css.css != html) std::abort();
  if (css.css.size() > size) std::abort();                  // CSS scrubbing only removes
  if (sealpost::scrub::css_fetches(css.css)) std::abort();  // nothing fetching survives
  return 0;
}
