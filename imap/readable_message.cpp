#include "imap/readable_message.h"

#include <strings.h>

#include <string_view>

#include "imap/header_fields.h"
#include "imap/inline_pgp.h"
#include "seal/message_parser.h"
#include "seal/part_content.h"
#include "seal/scrub/html_scrub.h"

namespace sealpost::imap {
namespace {

constexpr int kMaxDepth = 16;
constexpr std::size_t kMaxPart = 50u << 20;

using seal::GPtr;

bool read_decoded(GMimePart* part, std::string& out) {
  return seal::read_decoded(part, kMaxPart, out);
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

// text/plain, or a part without Content-Type (RFC 2045 §5.2 default), that
// is not an attachment: where inline PGP sits.
bool is_plain_text(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (ct && !g_mime_content_type_is_type(ct, "text", "plain")) return false;
  const char* disposition = g_mime_object_get_disposition(obj);
  return !disposition || std::string_view(disposition) != "attachment";
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
  if (GMIME_IS_PART(obj) && is_plain_text(obj)) {
    EncryptedEntity e;
    if (!read_decoded(GMIME_PART(obj), e.ciphertext) || !is_inline_pgp_message(e.ciphertext))
      return std::nullopt;
    e.inline_text = true;
    const char* charset = g_mime_object_get_content_type_parameter(obj, "charset");
    e.charset = charset ? charset : "";
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

// What staff see instead of content that could not be checked for remote
// references (EFAIL: an unchecked HTML part may send the plaintext out).
constexpr const char* kNotice =
    "[Sealpost: a part of this message was removed because it could not be checked for remote "
    "content. The encrypted original was kept unchanged.]\r\n";

struct Scrub {
  int removed = 0;
  bool changed = false;
};

GPtr<GMimeObject> notice_part() {
  GPtr<GMimePart> part(g_mime_part_new_with_type("text", "plain"));
  g_mime_object_set_content_type_parameter(GMIME_OBJECT(part.get()), "charset", "us-ascii");
  const std::string_view text(kNotice);
  GPtr<GMimeStream> mem(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
  GPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(mem.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part.get(), wrapper.get());
  return GPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

bool is_html(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  return ct && (g_mime_content_type_is_type(ct, "text", "html") ||
                g_mime_content_type_is_type(ct, "application", "xhtml+xml"));
}

bool scrub_tree(GMimeObject* obj, int depth, Scrub& s);

// The body of `message` (the readable copy or a message/rfc822 inside it),
// replaced by the notice when it cannot be checked.
void scrub_message(GMimeMessage* message, int depth, Scrub& s) {
  GMimeObject* body = g_mime_message_get_mime_part(message);
  if (!body || scrub_tree(body, depth, s)) return;
  auto notice = notice_part();
  g_mime_message_set_mime_part(message, notice.get());
  ++s.removed;
  s.changed = true;
}

// False when `obj` cannot be shown safely; the caller then replaces it by the
// notice. Fails closed: too deep, unreadable or oversized HTML is never kept.
bool scrub_tree(GMimeObject* obj, int depth, Scrub& s) {
  if (!obj) return true;
  if (depth > kMaxDepth) return false;
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    const int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i) {
      if (scrub_tree(g_mime_multipart_get_part(mp, i), depth + 1, s)) continue;
      auto notice = notice_part();
      if (GMimeObject* old = g_mime_multipart_replace(mp, i, notice.get())) g_object_unref(old);
      ++s.removed;
      s.changed = true;
    }
    return true;
  }
  if (GMIME_IS_MESSAGE_PART(obj)) {
    // A forwarded message inside the decrypted content is displayed inline by
    // most clients: its HTML can exfiltrate just the same.
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (inner) scrub_message(inner, depth + 1, s);
    return true;
  }
  if (!GMIME_IS_PART(obj) || !is_html(obj)) return true;
  std::string html;
  if (!read_decoded(GMIME_PART(obj), html)) return false;
  auto cleaned = scrub::scrub_html(html);
  if (cleaned.remote_removed == 0) return true;
  s.removed += cleaned.remote_removed;
  s.changed = true;
  GPtr<GMimeStream> mem(
      g_mime_stream_mem_new_with_buffer(cleaned.html.data(), cleaned.html.size()));
  GPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(mem.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(GMIME_PART(obj), wrapper.get());
  g_mime_part_set_content_encoding(GMIME_PART(obj), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  return true;
}

// A readable copy GMime cannot parse cannot be checked: its header section
// stays (minus Content-*), its body becomes the notice.
std::string notice_message(const std::string& message) {
  const SplitEntity e = split_entity(message);
  std::string out;
  for (const auto& f : e.fields) {
    if (f.name.size() >= 8 && strncasecmp(f.name.c_str(), "Content-", 8) == 0) continue;
    out += f.raw;
    if (out.empty() || out.back() != '\n') out += "\r\n";
  }
  out += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  out += kNotice;
  return out;
}

}  // namespace

bool is_header_protected(const std::string& content_type) {
  if (content_type.empty()) return false;
  seal::ensure_gmime();
  GPtr<GMimeContentType> ct(g_mime_content_type_parse(nullptr, content_type.c_str()));
  if (!ct) return false;
  const char* hp = g_mime_content_type_get_parameter(ct.get(), "hp");
  if (hp && (std::string_view(hp) == "cipher" || std::string_view(hp) == "clear")) return true;
  const char* legacy = g_mime_content_type_get_parameter(ct.get(), "protected-headers");
  return legacy && std::string_view(legacy) == "v1";
}

std::optional<EncryptedEntity> find_encrypted(GMimeMessage* message) {
  if (!message) return std::nullopt;
  return find(g_mime_message_get_mime_part(message), 0);
}

std::string drop_remote_html(const std::string& message, int& removed) {
  removed = 0;
  auto parsed = seal::parse_message(message, seal::MimeLimits{});
  if (!parsed) {
    removed = 1;
    return notice_message(message);
  }
  Scrub s;
  scrub_message(parsed->get(), 0, s);
  removed = s.removed;
  if (!s.changed) return message;
  return seal::to_crlf_string(GMIME_OBJECT(parsed->get()));
}

}  // namespace sealpost::imap
