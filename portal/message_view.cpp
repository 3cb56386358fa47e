#include "portal/message_view.h"

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

#include "portal/html_sanitizer.h"

namespace sealpost::portal {
namespace {

constexpr int kMaxParts = 200;
constexpr int kMaxDepth = 20;

struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(char* p) const { g_free(p); }
};

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::string decoded_content(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return {};
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, mem.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// Text parts become UTF-8 whatever charset they declare.
std::string as_utf8(GMimePart* part, const std::string& raw) {
  const char* charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
  if (!charset || g_ascii_strcasecmp(charset, "utf-8") == 0 ||
      g_ascii_strcasecmp(charset, "us-ascii") == 0) {
    if (g_utf8_validate(raw.data(), static_cast<gssize>(raw.size()), nullptr)) return raw;
    charset = "iso-8859-1";  // undeclared 8-bit text: the usual suspect
  }
  gsize written = 0;
  std::unique_ptr<char, GFree> out(
      g_convert_with_fallback(raw.data(), static_cast<gssize>(raw.size()), "UTF-8", charset, "?",
                              nullptr, &written, nullptr));
  if (!out) return {};
  return std::string(out.get(), written);
}

struct Walker {
  MessageView& view;
  std::string html;
  int parts = 0;
  bool ok = true;

  void walk(GMimeObject* obj, int depth) {
    if (!ok || !obj) return;
    if (++parts > kMaxParts || depth > kMaxDepth) {
      ok = false;
      return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      const int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
      // A forwarded message is offered as an .eml download, not rendered inline.
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (!inner) return;
      GPtr<GMimeStream> mem(g_mime_stream_mem_new());
      g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, mem.get());
      GByteArray* b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
      view.attachments.push_back({"message.eml", "message/rfc822",
                                  std::string(reinterpret_cast<const char*>(b->data), b->len)});
      return;
    }
    if (!GMIME_IS_PART(obj)) return;
    GMimePart* part = GMIME_PART(obj);
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    const char* fname = g_mime_part_get_filename(part);
    const bool is_attachment = g_mime_part_is_attachment(part) || (fname && *fname) ||
                               !(g_mime_content_type_is_type(ct, "text", "plain") ||
                                 g_mime_content_type_is_type(ct, "text", "html"));
    std::string raw = decoded_content(part);
    if (is_attachment) {
      std::unique_ptr<char, GFree> mime_type(g_mime_content_type_get_mime_type(ct));
      view.attachments.push_back(
          {fname ? fname : "", mime_type ? mime_type.get() : "", std::move(raw)});
    } else if (g_mime_content_type_is_type(ct, "text", "plain")) {
      if (view.text.empty()) view.text = as_utf8(part, raw);
    } else if (html.empty()) {
      html = as_utf8(part, raw);
    }
  }
};

}  // namespace

Result<MessageView> parse_message(std::string_view mime) {
  ensure_gmime();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(mime.data(), mime.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!msg) return Error::plain("portal: stored message does not parse");

  MessageView view;
  auto header = [&](const char* name) {
    const char* v = g_mime_object_get_header(GMIME_OBJECT(msg.get()), name);
    if (!v) return std::string();
    std::unique_ptr<char, GFree> decoded(g_mime_utils_header_decode_text(nullptr, v));
    return decoded ? std::string(decoded.get()) : std::string();
  };
  view.from = header("From");
  view.subject = header("Subject");
  view.date = header("Date");

  Walker w{view, {}, 0, true};
  w.walk(g_mime_message_get_mime_part(msg.get()), 0);
  if (!w.ok) return Error::plain("portal: stored message too complex");
  if (view.text.empty() && !w.html.empty()) view.safe_html = sanitize_html(w.html);
  return view;
}

}  // namespace sealpost::portal
