#include "seal/message_facts.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "seal/ciphertext_shape.h"
#include "seal/part_content.h"

namespace sealpost::seal {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_pkcs7_mime(GMimeContentType* ct) {
  return g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
         g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime");
}

std::string smime_type(GMimeContentType* ct) {
  const char* t = g_mime_content_type_get_parameter(ct, "smime-type");
  return t ? lower(t) : std::string();
}

bool has_attachment(GMimeObject* obj, unsigned depth) {
  if (depth > 64) return false;  // the parser already bounded depth; belt and braces
  if (GMIME_IS_MULTIPART(obj)) {
    auto* mp = GMIME_MULTIPART(obj);
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i)
      if (has_attachment(g_mime_multipart_get_part(mp, i), depth + 1)) return true;
    return false;
  }
  if (GMIME_IS_MESSAGE_PART(obj)) return true;  // a forwarded message counts
  if (GMIME_IS_PART(obj)) {
    if (g_mime_part_is_attachment(GMIME_PART(obj))) return true;
    if (g_mime_part_get_filename(GMIME_PART(obj))) return true;
  }
  return false;
}

// The undecoded content of a leaf part, as it stands in the message; false when
// it is larger than `cap` (then it is not treated as inline ciphertext: the
// message is encrypted again rather than sent on unencrypted).
bool raw_content(GMimePart* part, std::size_t cap, std::string& out) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  GMimeStream* stream = content ? g_mime_data_wrapper_get_stream(content) : nullptr;
  if (!stream) return false;
  g_mime_stream_reset(stream);
  out.clear();
  char buf[16384];
  for (;;) {
    const gssize n = g_mime_stream_read(stream, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > cap) break;
  }
  g_mime_stream_reset(stream);
  return out.size() <= cap;
}

constexpr std::size_t kMaxInlineArmor = 16u << 20;

// The parser already bounded the message's size; the cap only guards
// against decoding blow-up.
constexpr std::size_t kMaxDecoded = 256u << 20;

bool decoded(GMimePart* part, std::string& out) {
  return read_decoded(part, kMaxDecoded, out);
}

// RFC 3156 section 4: protocol="application/pgp-encrypted", exactly two parts,
// a "Version: 1" control part and an OpenPGP encrypted message.
bool is_pgp_mime(GMimeObject* root) {
  GMimeContentType* ct = g_mime_object_get_content_type(root);
  const char* protocol = g_mime_content_type_get_parameter(ct, "protocol");
  if (!protocol || lower(protocol) != "application/pgp-encrypted") return false;
  if (!GMIME_IS_MULTIPART(root)) return false;
  auto* mp = GMIME_MULTIPART(root);
  if (g_mime_multipart_get_count(mp) != 2) return false;
  GMimeObject* control = g_mime_multipart_get_part(mp, 0);
  GMimeObject* data = g_mime_multipart_get_part(mp, 1);
  if (!GMIME_IS_PART(control) || !GMIME_IS_PART(data)) return false;
  if (!g_mime_content_type_is_type(g_mime_object_get_content_type(control), "application",
                                   "pgp-encrypted"))
    return false;
  std::string version;
  if (!decoded(GMIME_PART(control), version) || version.find("Version: 1") == std::string::npos)
    return false;
  std::string body;
  return decoded(GMIME_PART(data), body) && is_openpgp_ciphertext(body);
}

}  // namespace

bool is_already_encrypted(GMimeMessage* message) {
  GMimeObject* root = g_mime_message_get_mime_part(message);
  if (!root) return false;
  GMimeContentType* ct = g_mime_object_get_content_type(root);
  // Only a body that is ciphertext by structure counts: mail sent unchanged on
  // the strength of a label would leave in the clear (a client bug or a
  // hand-made "multipart/encrypted" must not be a way around encryption).
  if (g_mime_content_type_is_type(ct, "multipart", "encrypted")) return is_pgp_mime(root);
  if (is_pkcs7_mime(ct)) {
    if (smime_type(ct) == "signed-data" || !GMIME_IS_PART(root)) return false;
    std::string der;
    return decoded(GMIME_PART(root), der) && is_cms_enveloped(der);
  }
  if (GMIME_IS_PART(root) && g_mime_content_type_is_type(ct, "text", "plain")) {
    // The whole body must be one armored block: a quoted ciphertext inside a
    // plain mail must not make us send that plain mail unencrypted.
    std::string raw;
    if (!raw_content(GMIME_PART(root), kMaxInlineArmor, raw)) return false;
    const auto binary = dearmor_pgp_message(raw);
    return binary && is_openpgp_encrypted_message(*binary);
  }
  return false;
}

policy::MessageFacts message_facts(GMimeMessage* message) {
  policy::MessageFacts f;
  const char* subject = g_mime_message_get_subject(message);
  f.subject = subject ? subject : "";
  GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(message));
  const int n = g_mime_header_list_get_count(headers);
  for (int i = 0; i < n; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
    const char* name = g_mime_header_get_name(h);
    const char* value = g_mime_header_get_value(h);
    if (name) f.headers.emplace(lower(name), value ? value : "");
  }
  GMimeObject* root = g_mime_message_get_mime_part(message);
  f.has_attachments = root && has_attachment(root, 0);
  f.already_encrypted = is_already_encrypted(message);
  if (root) {
    GMimeContentType* ct = g_mime_object_get_content_type(root);
    f.already_signed = g_mime_content_type_is_type(ct, "multipart", "signed") ||
                       (is_pkcs7_mime(ct) && smime_type(ct) == "signed-data");
  }
  return f;
}

}  // namespace sealpost::seal
