#include "seal/header_protection.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "common/html_escape.h"
#include "seal/header_block.h"
#include "seal/mime_writer.h"
#include "seal/part_content.h"

namespace sealpost::seal {

namespace {

constexpr const char* kObscuredSubject = "[...]";
// The legacy display is added to main body parts up to this size; a bigger
// text part is left as it is (it would have to be held in memory to edit).
constexpr std::size_t kMaxLegacyTextBytes = 1u << 20;

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

void remove_bcc(GMimeMessage* message) {
  while (g_mime_object_remove_header(GMIME_OBJECT(message), "Bcc")) {
  }
}

bool is_text(GMimeObject* obj, const char* subtype) {
  return GMIME_IS_TEXT_PART(obj) &&
         g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "text", subtype);
}

// The parts a reader's client shows as the message body (RFC 9787 "main body
// parts"): both sides of an alternative, the first of a mixed, the root of a
// related; never inside a part the sender signed or encrypted (that would
// break it).
void main_body_parts(GMimeObject* obj, int depth, std::vector<GMimeTextPart*>& out) {
  if (!obj || depth > 8) return;
  if (is_text(obj, "plain") || is_text(obj, "html")) {
    // A text file sent as an attachment is not the body: it stays as sent.
    if (!g_mime_part_is_attachment(GMIME_PART(obj)) && !g_mime_part_get_filename(GMIME_PART(obj)))
      out.push_back(GMIME_TEXT_PART(obj));
    return;
  }
  if (!GMIME_IS_MULTIPART(obj) || GMIME_IS_MULTIPART_SIGNED(obj) ||
      GMIME_IS_MULTIPART_ENCRYPTED(obj))
    return;
  GMimeMultipart* mp = GMIME_MULTIPART(obj);
  const int n = g_mime_multipart_get_count(mp);
  if (n == 0) return;
  if (g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "multipart",
                                  "alternative")) {
    for (int i = 0; i < n; ++i) main_body_parts(g_mime_multipart_get_part(mp, i), depth + 1, out);
  } else {
    main_body_parts(g_mime_multipart_get_part(mp, 0), depth + 1, out);
  }
}

// A client renders one plain and one HTML body at most, but main_body_parts()
// finds every leaf of nested alternatives. Each display repeats the hidden
// fields, so a long Subject times many leaves amplified the message (the
// mime_seal fuzzer: a 34 KB Subject into 21 leaves, output 10x the input).
// Only the last text/plain and the last text/html get it: of alternatives, a
// client shows the last one it can (RFC 2046 5.1.4), so those are the ones
// read; in the usual plain+HTML alternative they are simply both sides.
std::vector<GMimeTextPart*> last_plain_and_html(const std::vector<GMimeTextPart*>& parts) {
  std::vector<GMimeTextPart*> out;
  bool plain = false;
  bool html = false;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    bool& seen = is_text(GMIME_OBJECT(*it), "html") ? html : plain;
    if (seen) continue;
    seen = true;
    out.push_back(*it);
  }
  return out;
}

// "Subject: ...\r\n" lines for the fields the outside hides.
struct LegacyFields {
  std::vector<std::pair<std::string, std::string>> fields;  // name, decoded value
  bool empty() const { return fields.empty(); }
};

LegacyFields hidden_fields(GMimeMessage* message) {
  LegacyFields f;
  if (const char* s = g_mime_message_get_subject(message))
    f.fields.emplace_back("Subject", printable_line(s));
  for (const char* name : {"Keywords", "Comments"}) {
    if (const char* raw = g_mime_object_get_header(GMIME_OBJECT(message), name)) {
      char* decoded = g_mime_utils_header_decode_text(nullptr, raw);
      f.fields.emplace_back(name, printable_line(decoded ? decoded : raw));
      g_free(decoded);
    }
  }
  return f;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// `utf8` in the part's charset; false when that charset cannot express it.
bool in_charset(const std::string& utf8, const char* charset, std::string& out) {
  const std::string cs = charset ? charset : "us-ascii";
  std::string lower = cs;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "utf-8" || lower == "utf8" || is_ascii(utf8)) {
    out = utf8;
    return true;
  }
  iconv_t cd = g_mime_iconv_open(cs.c_str(), "UTF-8");
  // iconv's documented failure value is (iconv_t)-1.
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;  // NOLINT(performance-no-int-to-ptr)
  char* converted = g_mime_iconv_strdup(cd, utf8.c_str());
  g_mime_iconv_close(cd);
  if (!converted) return false;
  out = converted;
  g_free(converted);
  return true;
}

// The first `tag` ("<body") that is the whole tag name: not "<bodyx", and
// "</head" not "</header".
std::size_t find_tag(const std::string& lower, std::string_view tag) {
  for (auto at = lower.find(tag); at != std::string::npos; at = lower.find(tag, at + 1)) {
    const std::size_t next = at + tag.size();
    if (next >= lower.size()) return std::string::npos;
    const char c = lower[next];
    if (c == '>' || c == '/' || std::isspace(static_cast<unsigned char>(c))) return at;
  }
  return std::string::npos;
}

// Prepends the element to the part's decoded bytes, in the part's own charset,
// without going through C strings (a text part may hold a NUL from its
// transfer encoding) or a charset guess. Leaves the part alone when it cannot
// do that exactly.
void add_legacy_display(GMimeTextPart* part, const LegacyFields& hidden) {
  GMimeObject* obj = GMIME_OBJECT(part);
  std::string body;
  if (!read_decoded(GMIME_PART(part), kMaxLegacyTextBytes, body)) return;
  const bool html = is_text(obj, "html");
  std::string element;
  if (!html) {
    for (const auto& [name, value] : hidden.fields)
      element.append(name).append(": ").append(value).append("\r\n");
    element += "\r\n";
  } else {
    element = "<div class=\"header-protection-legacy-display\"><pre>\r\n";
    for (const auto& [name, value] : hidden.fields) {
      std::string line = name;
      line.append(": ").append(value);
      element.append(html_escape(line)).append("\r\n");
    }
    element += "</pre></div>\r\n";
  }
  const char* charset = g_mime_object_get_content_type_parameter(obj, "charset");
  std::string encoded;
  const bool declared_ascii = !charset || g_ascii_strcasecmp(charset, "us-ascii") == 0;
  if (declared_ascii && !is_ascii(element)) {
    if (!is_ascii(body)) return;  // undeclared 8-bit text: we would have to guess
    encoded = element;            // ASCII text is UTF-8 too: relabel it
    g_mime_object_set_content_type_parameter(obj, "charset", "utf-8");
  } else if (!in_charset(element, charset, encoded)) {
    return;
  }
  std::size_t at = 0;
  if (html) {
    // Where a browser starts the visible body: right after <body ...>, else
    // after </head>, else after <html ...>, else at the very top.
    std::string lower = body.substr(0, std::min<std::size_t>(body.size(), 64u << 10));
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const std::string_view tag : {"<body", "</head", "<html"}) {
      const auto b = find_tag(lower, tag);
      if (b == std::string::npos) continue;
      if (const auto close = lower.find('>', b); close != std::string::npos) {
        at = close + 1;
        break;
      }
    }
  }
  body.insert(at, encoded);
  const GMimeContentEncoding was = g_mime_part_get_content_encoding(GMIME_PART(part));
  GPtr<GMimeStream> mem(g_mime_stream_mem_new_with_buffer(body.data(), body.size()));
  GPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(mem.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(GMIME_PART(part), wrapper.get());
  // The transfer encoding stays, unless it promised 7-bit text and the
  // element brought 8-bit characters: then quoted-printable.
  const bool seven_bit =
      was == GMIME_CONTENT_ENCODING_DEFAULT || was == GMIME_CONTENT_ENCODING_7BIT;
  g_mime_part_set_content_encoding(GMIME_PART(part), seven_bit && !is_ascii(body)
                                                         ? GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE
                                                         : was);
  g_mime_object_set_content_type_parameter(obj, "hp-legacy-display", "1");
}

}  // namespace

std::string display_subject(GMimeMessage* message) {
  return printable_line(g_mime_message_get_subject(message));
}

Result<void> serialise_without_bcc(GMimeMessage* message, BodyWriter& out) {
  remove_bcc(message);
  return write_mime(GMIME_OBJECT(message), out);
}

Result<ProtectedMessage> protect_headers(GMimeMessage* message, const SpillSettings& spill) {
  remove_bcc(message);
  FormatOptionsPtr opts(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(opts.get(), GMIME_NEWLINE_FORMAT_DOS);
  char* raw_headers = g_mime_object_get_headers(GMIME_OBJECT(message), opts.get());
  std::string headers = raw_headers ? raw_headers : "";
  g_free(raw_headers);
  headers += "\r\n";  // split_headers wants the blank line that ends the section
  const SplitMessage split = split_headers(headers);

  ProtectedMessage out;
  std::string inner;
  std::string hp_outer;
  for (const auto& f : split.fields) {
    if (f.lower == "bcc" || is_mime_structural(f.lower)) continue;
    inner += f.raw;
    if (removed_outside(f.lower)) continue;
    if (f.lower == "subject") {
      out.outer_headers += std::string("Subject: ") + kObscuredSubject + "\r\n";
      hp_outer += std::string("HP-Outer: Subject: ") + kObscuredSubject + "\r\n";
      continue;
    }
    out.outer_headers += f.raw;
    hp_outer += "HP-Outer: " + f.name + ": " + f.value + "\r\n";
  }

  GMimeObject* root = g_mime_message_get_mime_part(message);
  if (!root) return Error::temp("4.7.0", "encryption failed, will retry", "message without body");
  if (const LegacyFields hidden = hidden_fields(message); !hidden.empty()) {
    std::vector<GMimeTextPart*> parts;
    main_body_parts(root, 0, parts);
    for (GMimeTextPart* p : last_plain_and_html(parts)) add_legacy_display(p, hidden);
  }
  g_mime_object_set_content_type_parameter(root, "hp", "cipher");
  g_mime_object_set_content_type_parameter(root, "protected-headers", "v1");

  BodyWriter payload(spill);
  if (auto r = payload.append(inner); !r) return r.error();
  if (auto r = payload.append(hp_outer); !r) return r.error();
  if (auto r = write_mime(root, payload); !r) return r.error();
  auto body = payload.finish();
  if (!body) return body.error();
  out.payload = std::move(body.value());
  return out;
}

}  // namespace sealpost::seal
