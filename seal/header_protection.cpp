#include "seal/header_protection.h"

#include "seal/header_block.h"

namespace sealpost::seal {

namespace {

constexpr const char* kObscuredSubject = "[...]";

// hcp_baseline: Subject is obscured, Keywords and Comments are removed from
// the outside; routing fields (From/To/Cc/Date/Message-ID...) stay visible.
bool removed_outside(const std::string& n) {
  return n == "keywords" || n == "comments";
}

std::string printable_line(const char* s) {
  std::string out;
  for (const char* p = s ? s : ""; *p; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return out;
}

GPtr<GMimeObject> legacy_display_part(GMimeMessage* message) {
  // Built from bytes rather than g_mime_text_part_set_text(), which would pick
  // a legacy charset: the decoded subject is UTF-8 and is declared as such.
  const std::string subject = printable_line(g_mime_message_get_subject(message));
  const std::string body = "Subject: " + subject + "\r\n";
  GPtr<GMimePart> part(g_mime_part_new_with_type("text", "plain"));
  GMimeObject* obj = GMIME_OBJECT(part.get());
  g_mime_object_set_content_type_parameter(obj, "charset", "utf-8");
  g_mime_object_set_content_type_parameter(obj, "hp-legacy-display", "1");
  g_mime_object_set_disposition(obj, "inline");
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(body.data(), body.size()));
  GPtr<GMimeDataWrapper> content(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part.get(), content.get());
  g_mime_part_set_content_encoding(part.get(), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  return GPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

}  // namespace

std::string serialise_without_bcc(GMimeMessage* message) {
  while (g_mime_object_remove_header(GMIME_OBJECT(message), "Bcc")) {
  }
  return to_crlf_string(GMIME_OBJECT(message));
}

ProtectedMessage protect_headers(GMimeMessage* message) {
  while (g_mime_object_remove_header(GMIME_OBJECT(message), "Bcc")) {
  }
  const std::string full = to_crlf_string(GMIME_OBJECT(message));
  const SplitMessage split = split_headers(full);

  ProtectedMessage out;
  std::string inner_headers;
  std::string hp_outer;
  bool has_subject = false;
  for (const auto& f : split.fields) {
    if (f.lower == "bcc" || is_mime_structural(f.lower)) continue;
    inner_headers += f.raw;
    if (removed_outside(f.lower)) continue;
    if (f.lower == "subject") {
      has_subject = true;
      out.outer_headers += "Subject: " + std::string(kObscuredSubject) + "\r\n";
      hp_outer += "HP-Outer: Subject: " + std::string(kObscuredSubject) + "\r\n";
      continue;
    }
    out.outer_headers += f.raw;
    hp_outer += "HP-Outer: " + f.name + ": " + f.value + "\r\n";
  }

  // The Legacy Display Element: first child of a multipart/mixed body, or
  // a new multipart/mixed wrapping the body when it is anything else.
  GMimeObject* body = g_mime_message_get_mime_part(message);
  GPtr<GMimeMultipart> wrapper;
  GMimeObject* root = body;
  if (has_subject) {
    auto legacy = legacy_display_part(message);
    if (GMIME_IS_MULTIPART(body) &&
        g_mime_content_type_is_type(g_mime_object_get_content_type(body), "multipart", "mixed")) {
      g_mime_multipart_insert(GMIME_MULTIPART(body), 0, legacy.get());
    } else {
      wrapper.reset(g_mime_multipart_new_with_subtype("mixed"));
      g_mime_multipart_add(wrapper.get(), legacy.get());
      g_mime_multipart_add(wrapper.get(), body);
      root = GMIME_OBJECT(wrapper.get());
    }
  }
  g_mime_object_set_content_type_parameter(root, "hp", "cipher");
  const std::string entity = to_crlf_string(root);
  out.payload.reserve(inner_headers.size() + hp_outer.size() + entity.size());
  out.payload = inner_headers + hp_outer + entity;
  return out;
}

}  // namespace sealpost::seal
