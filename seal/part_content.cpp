#include "seal/part_content.h"

namespace sealpost::seal {

bool read_decoded(GMimePart* part, std::size_t cap, std::string& out) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return false;
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return false;
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  if (!bytes || bytes->len > cap) return false;
  out.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
  return true;
}

bool read_decoded_head(GMimePart* part, std::size_t n, std::string& out) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return false;
  GMimeStream* raw = g_mime_data_wrapper_get_stream(content);  // not ours to unref
  if (!raw) return false;
  g_mime_stream_reset(raw);
  GPtr<GMimeStream> filtered(g_mime_stream_filter_new(raw));
  const GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(content);
  if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
      enc == GMIME_CONTENT_ENCODING_UUENCODE) {
    GPtr<GMimeFilter> decoder(g_mime_filter_basic_new(enc, FALSE));
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), decoder.get());
  }
  out.assign(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const gssize r = g_mime_stream_read(filtered.get(), out.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  g_mime_stream_reset(raw);  // whoever writes the part next starts at its beginning
  return true;
}

}  // namespace sealpost::seal
