#include "portal/reply_mail.h"

#include <sodium.h>

#include "common/secure_random.h"
#include "portal/notice.h"

namespace sealpost::portal {
namespace {

std::string base64_lines(std::string_view bin) {
  std::string b(sodium_base64_ENCODED_LEN(bin.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b.data(), b.size(), reinterpret_cast<const unsigned char*>(bin.data()),
                    bin.size(), sodium_base64_VARIANT_ORIGINAL);
  b.resize(b.size() - 1);
  std::string out;
  out.reserve(b.size() + b.size() / 38 + 2);
  for (std::size_t i = 0; i < b.size(); i += 76) out += b.substr(i, 76) + "\r\n";
  return out;
}

// Untrusted text for a header: controls become spaces, length bounded.
std::string header_text(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200))
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  return out;
}

// Only types that are syntactically a plain "type/subtype"; anything else is octet-stream.
std::string safe_content_type(std::string_view t) {
  if (t.empty() || t.size() > 100) return "application/octet-stream";
  std::size_t slash = t.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == t.size())
    return "application/octet-stream";
  for (char c : t)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '+' ||
          c == '.'))
      return "application/octet-stream";
  return std::string(t);
}

// MIME (RFC 2231) wants one filename parameter: plain when it is a safe token
// already, otherwise only the percent-encoded UTF-8 form. (HTTP downloads send
// both, per RFC 6266; mail readers would pick the lossy fallback.)
std::string mime_disposition(std::string_view filename) {
  const std::string both = attachment_disposition(filename);
  const std::string fallback_marker = "; filename*=UTF-8''";
  const std::size_t star = both.find(fallback_marker);
  const std::string encoded = both.substr(star + fallback_marker.size());
  if (encoded.find('%') == std::string::npos) return "attachment; filename=\"" + encoded + "\"";
  return "attachment; filename*=UTF-8''" + encoded;
}

std::string normalise_newlines(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (s[i] == '\n') {
      out += "\r\n";
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string common_headers(const std::string& from, const std::string& to,
                           const std::string& subject, std::int64_t now) {
  std::string m;
  m += "From: <" + from + ">\r\n";
  m += "To: <" + to + ">\r\n";
  m += "Subject: " + pickup::encode_header_text(subject) + "\r\n";
  m += "Date: " + pickup::rfc5322_date(now) + "\r\n";
  m += "Message-ID: <" + random_token(16) + "@" + from.substr(from.rfind('@') + 1) + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  return m;
}

}  // namespace

Result<std::string> compose_reply(const ReplyMail& r, std::int64_t now) {
  if (!pickup::safe_addr_spec(r.from_address) || !pickup::safe_addr_spec(r.to_address))
    return Error::plain("reply: unsafe address");
  std::string m = common_headers(r.from_address, r.to_address, header_text(r.subject), now);
  m += "X-Sealpost-Pickup-Reply: " + r.pickup_id + "\r\n";
  const std::string boundary = "=_sealpost_" + random_token(16);
  m += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += base64_lines(normalise_newlines(r.text));
  for (const auto& f : r.files) {
    m += "--" + boundary + "\r\n";
    m += "Content-Type: " + safe_content_type(f.content_type) + "\r\n";
    m += "Content-Disposition: " + mime_disposition(f.filename) + "\r\n";
    m += "Content-Transfer-Encoding: base64\r\n\r\n";
    m += base64_lines(f.data);
  }
  m += "--" + boundary + "--\r\n";
  return m;
}

Result<std::string> compose_staff_mail(const std::string& from, const std::string& to,
                                       const std::string& subject, const std::string& body,
                                       std::int64_t now) {
  if (!pickup::safe_addr_spec(from) || !pickup::safe_addr_spec(to))
    return Error::plain("staff mail: unsafe address");
  std::string m = common_headers(from, to, header_text(subject), now);
  m += "Auto-Submitted: auto-generated\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += base64_lines(normalise_newlines(body));
  return m;
}

}  // namespace sealpost::portal
