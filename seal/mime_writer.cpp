#include "seal/mime_writer.h"

#include "seal/body_stream.h"

namespace sealpost::seal {
namespace {

// GMime copies content without any filter only when part and content agree
// on the encoding and that encoding is "binary"; the Content-Transfer-Encoding
// header is left as it was (the struct fields are set, not the header).
void keep_raw_content(GMimeObject* obj, int depth) {
  if (!obj || depth > 64) return;  // parse_message bounds the depth far below this
  if (GMIME_IS_PART(obj)) {
    GMimePart* part = GMIME_PART(obj);
    GMimeDataWrapper* content = part->content;
    if (content && content->encoding == part->encoding &&
        part->encoding != GMIME_CONTENT_ENCODING_BINARY) {
      part->encoding = GMIME_CONTENT_ENCODING_BINARY;
      content->encoding = GMIME_CONTENT_ENCODING_BINARY;
    }
  } else if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    const int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i) keep_raw_content(g_mime_multipart_get_part(mp, i), depth + 1);
  } else if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (inner) keep_raw_content(g_mime_message_get_mime_part(inner), depth + 1);
  } else if (GMIME_IS_MESSAGE(obj)) {
    keep_raw_content(g_mime_message_get_mime_part(GMIME_MESSAGE(obj)), depth + 1);
  }
}

}  // namespace

Result<void> write_mime(GMimeObject* object, BodyWriter& out) {
  keep_raw_content(object, 0);
  FormatOptionsPtr opts(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(opts.get(), GMIME_NEWLINE_FORMAT_DOS);
  CrlfWriterStream sink(out);
  const gint64 n = g_mime_object_write_to_stream(object, opts.get(), sink.get());
  if (auto r = sink.finish(); !r) return r;
  if (n < 0) return Error::temp("4.3.0", "Local error in processing", "MIME serialisation failed");
  return {};
}

Result<Body> mime_body(GMimeObject* object, const SpillSettings& spill) {
  BodyWriter out(spill);
  if (auto r = write_mime(object, out); !r) return r.error();
  return out.finish();
}

}  // namespace sealpost::seal
