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
  // Through a memory stream, not g_mime_object_to_string(): a C string would
  // end the message at its first NUL byte.
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_object_write_to_stream(object, opts.get(), mem.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  if (!bytes || bytes->len == 0) return {};
  return canonical_crlf(std::string_view(reinterpret_cast<const char*>(bytes->data), bytes->len));
}

}  // namespace sealpost::seal
