#include "seal/part_content.h"

#include <algorithm>
#include <cstdint>

namespace sealpost::seal {

namespace {

// Reads up to `limit` decoded bytes into `out`; false when the content is
// missing or a read fails. Decoding goes through a filter one buffer at a
// time, so a part never costs more memory than `limit`, whatever its size.
bool read_limited(GMimePart* part, std::size_t limit, std::string& out) {
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
  out.clear();
  bool ok = true;
  gint64 last_pos = -1;
  char buf[16384];
  while (out.size() < limit) {
    const gssize r = g_mime_stream_read(filtered.get(), buf,
                                        std::min<std::size_t>(sizeof buf, limit - out.size()));
    if (r < 0) {
      ok = false;
      break;
    }
    // A filter returns 0 for a chunk that decodes to nothing (a run of
    // base64 whitespace, QP soft breaks): only end of stream ends the read.
    if (r == 0) {
      // ...and a source that stops moving is at its end whatever it says.
      const gint64 at = g_mime_stream_tell(raw);
      if (g_mime_stream_eos(filtered.get()) || at == last_pos) break;
      last_pos = at;
      continue;
    }
    out.append(buf, static_cast<std::size_t>(r));
  }
  g_mime_stream_reset(raw);  // whoever writes the part next starts at its beginning
  return ok;
}

}  // namespace

bool read_decoded(GMimePart* part, std::size_t cap, std::string& out) {
  // One byte past the cap tells "exactly cap" from "more".
  if (!read_limited(part, cap == SIZE_MAX ? cap : cap + 1, out) || out.size() > cap) {
    out.clear();
    return false;
  }
  return true;
}

bool read_decoded_head(GMimePart* part, std::size_t n, std::string& out) {
  return read_limited(part, n, out);
}

}  // namespace sealpost::seal
