#include "seal/message_facts.h"

#include <algorithm>
#include <cctype>
#include <string>

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

std::string_view body_of(std::string_view raw) {
  auto pos = raw.find("\r\n\r\n");
  std::size_t skip = 4;
  const auto lf = raw.find("\n\n");
  if (lf != std::string_view::npos && (pos == std::string_view::npos || lf < pos)) {
    pos = lf;
    skip = 2;
  }
  return pos == std::string_view::npos ? std::string_view() : raw.substr(pos + skip);
}

}  // namespace

bool is_already_encrypted(GMimeMessage* message, std::string_view raw) {
  GMimeObject* root = g_mime_message_get_mime_part(message);
  if (!root) return false;
  GMimeContentType* ct = g_mime_object_get_content_type(root);
  if (g_mime_content_type_is_type(ct, "multipart", "encrypted")) return true;
  if (is_pkcs7_mime(ct)) {
    const std::string t = smime_type(ct);
    // No smime-type: RFC 8551 readers treat it as enveloped; so do we.
    return t.empty() || t == "enveloped-data" || t == "authenveloped-data";
  }
  if (GMIME_IS_PART(root) && g_mime_content_type_is_type(ct, "text", "plain")) {
    std::string_view body = body_of(raw);
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front())))
      body.remove_prefix(1);
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
      body.remove_suffix(1);
    constexpr std::string_view kBegin = "-----BEGIN PGP MESSAGE-----";
    constexpr std::string_view kEnd = "-----END PGP MESSAGE-----";
    // The whole body must be one armored block: a quoted ciphertext inside a
    // plain mail must not make us send that plain mail unencrypted.
    return body.size() > kBegin.size() + kEnd.size() && body.substr(0, kBegin.size()) == kBegin &&
           body.substr(body.size() - kEnd.size()) == kEnd;
  }
  return false;
}

policy::MessageFacts message_facts(GMimeMessage* message, std::string_view raw) {
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
  f.already_encrypted = is_already_encrypted(message, raw);
  if (root) {
    GMimeContentType* ct = g_mime_object_get_content_type(root);
    f.already_signed = g_mime_content_type_is_type(ct, "multipart", "signed") ||
                       (is_pkcs7_mime(ct) && smime_type(ct) == "signed-data");
  }
  return f;
}

}  // namespace sealpost::seal
