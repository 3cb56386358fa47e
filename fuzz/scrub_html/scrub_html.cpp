// Hostile HTML through the remote-content rewriter and the CSS url() rewriter.
// Besides not crashing or reading out of bounds, a pass that reports no edit
// must return the input byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "seal/scrub/html_scrub.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;
  const std::string_view html(reinterpret_cast<const char*>(data), size);
  auto first = sealpost::scrub::scrub_html(html);
  int n = 0;
  (void)sealpost::scrub::neutralise_css_urls(html, n);
  if (first.remote_removed == 0 && first.html != html) std::abort();  // no edit, no change
  return 0;
}
