#include "imap/readable_message.h"

#include <string_view>

#include "seal/message_parser.h"
#include "seal/scrub/html_scrub.h"

namespace sealpost::imap {
namespace {

constexpr int kMaxDepth = 16;
constexpr std::size_t kMaxPart = 50u << 20;

using seal::GPtr;

bool read_decoded(GMimePart* part, std::string& out) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return false;
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return false;
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  if (!bytes || bytes->len > kMaxPart) return false;
  out.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
  return true;
}

bool is_smime_enveloped(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (!ct || !(g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
               g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime")))
    return false;
  const char* type = g_mime_content_type_get_parameter(ct, "smime-type");
  // Some clients omit smime-type; CMS parsing decides then (signed-data is refused there).
  if (!type) return true;
  const std::string_view t(type);
  return t == "enveloped-data" || t == "authEnveloped-data";
}

std::optional<EncryptedEntity> find(GMimeObject* obj, int depth) {
  if (!obj || depth > kMaxDepth) return std::nullopt;
  if (GMIME_IS_MULTIPART_ENCRYPTED(obj)) {
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    const char* protocol = ct ? g_mime_content_type_get_parameter(ct, "protocol") : nullptr;
    if (!protocol || std::string_view(protocol) != "application/pgp-encrypted") return std::nullopt;
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    if (g_mime_multipart_get_count(mp) != 2) return std::nullopt;
    GMimeObject* payload = g_mime_multipart_get_part(mp, GMIME_MULTIPART_ENCRYPTED_CONTENT);
    if (!GMIME_IS_PART(payload)) return std::nullopt;
    EncryptedEntity e;
    if (!read_decoded(GMIME_PART(payload), e.ciphertext)) return std::nullopt;
    e.nested = depth > 0;
    return e;
  }
  if (GMIME_IS_PART(obj) && is_smime_enveloped(obj)) {
    EncryptedEntity e;
    e.kind = EncryptionKind::Smime;
    if (!read_decoded(GMIME_PART(obj), e.ciphertext)) return std::nullopt;
    e.nested = depth > 0;
    return e;
  }
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    const int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i)
      if (auto e = find(g_mime_multipart_get_part(mp, i), depth + 1)) return e;
  }
  // message/rfc822 attachments are forwarded mail, not this message's content.
  return std::nullopt;
}

void scrub_tree(GMimeObject* obj, int depth, int& removed) {
  if (!obj || depth > kMaxDepth) return;
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    const int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i) scrub_tree(g_mime_multipart_get_part(mp, i), depth + 1, removed);
    return;
  }
  if (!GMIME_IS_PART(obj)) return;
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (!ct || !g_mime_content_type_is_type(ct, "text", "html")) return;
  std::string html;
  if (!read_decoded(GMIME_PART(obj), html)) return;
  auto cleaned = scrub::scrub_html(html);
  if (cleaned.remote_removed == 0) return;
  removed += cleaned.remote_removed;
  GPtr<GMimeStream> mem(
      g_mime_stream_mem_new_with_buffer(cleaned.html.data(), cleaned.html.size()));
  GPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(mem.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(GMIME_PART(obj), wrapper.get());
  g_mime_part_set_content_encoding(GMIME_PART(obj), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
}

}  // namespace

std::optional<EncryptedEntity> find_encrypted(GMimeMessage* message) {
  if (!message) return std::nullopt;
  return find(g_mime_message_get_mime_part(message), 0);
}

std::string drop_remote_html(const std::string& message, int& removed) {
  removed = 0;
  auto parsed = seal::parse_message(message, seal::MimeLimits{});
  if (!parsed) return message;
  scrub_tree(g_mime_message_get_mime_part(parsed->get()), 0, removed);
  if (removed == 0) return message;
  return seal::to_crlf_string(GMIME_OBJECT(parsed->get()));
}

}  // namespace sealpost::imap
