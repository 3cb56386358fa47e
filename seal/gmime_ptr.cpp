#include "seal/gmime_ptr.h"

#include <mutex>

#include "seal/crlf.h"

namespace sealpost::seal {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::string to_crlf_string(GMimeObject* object) {
  FormatOptionsPtr opts(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(opts.get(), GMIME_NEWLINE_FORMAT_DOS);
  char* s = g_mime_object_to_string(object, opts.get());
  std::string out = s ? s : "";
  g_free(s);
  return canonical_crlf(out);
}

}  // namespace sealpost::seal
