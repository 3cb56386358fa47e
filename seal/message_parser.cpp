#include "seal/message_parser.h"

#include <cctype>
#include <cstring>
#include <string>

namespace sealpost::seal {

namespace {

Error malformed(std::string reason) {
  return Error::make(554, "5.6.0", "message structure refused by the relay", std::move(reason));
}

// Lines starting with "Content-Type:" bound the number of entities GMime can
// create (and its recursion depth) before we let it loose on the bytes.
unsigned count_content_type_lines(std::string_view data) {
  static constexpr std::string_view kName = "content-type:";
  unsigned n = 0;
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos >= kName.size()) {
      bool match = true;
      for (std::size_t i = 0; i < kName.size() && match; ++i)
        match = std::tolower(static_cast<unsigned char>(data[pos + i])) == kName[i];
      if (match) ++n;
    }
    const auto nl = data.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return n;
}

struct ParseWarnings {
  int critical = 0;
  GMimeParserWarning first = GMimeParserWarning(0);
};

void on_warning(gint64, GMimeParserWarning code, const gchar*, gpointer user) {
  auto* w = static_cast<ParseWarnings*>(user);
  // CRIT_* mean GMime may have skipped parts of the input: what it shows us is
  // then not what a recipient's client would show. Conflicting headers (two
  // Content-Types) are the classic filter-evasion trick.
  switch (code) {
    case GMIME_CRIT_INVALID_HEADER_NAME:
    case GMIME_CRIT_CONFLICTING_HEADER:
    case GMIME_CRIT_CONFLICTING_PARAMETER:
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    case GMIME_CRIT_NESTING_OVERFLOW:
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      if (w->critical++ == 0) w->first = code;
      break;
    default:
      break;
  }
}

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* o) const { g_mime_parser_options_free(o); }
};

Result<void> walk(GMimeObject* obj, const MimeLimits& limits, unsigned depth, unsigned& parts) {
  if (++parts > limits.max_parts)
    return malformed("more than " + std::to_string(limits.max_parts) + " MIME parts");
  if (depth > limits.max_depth)
    return malformed("MIME nesting deeper than " + std::to_string(limits.max_depth));
  if (GMIME_IS_MULTIPART(obj)) {
    auto* mp = GMIME_MULTIPART(obj);
    const int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i) {
      if (auto r = walk(g_mime_multipart_get_part(mp, i), limits, depth + 1, parts); !r) return r;
    }
  } else if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (inner && g_mime_message_get_mime_part(inner)) {
      if (auto r = walk(g_mime_message_get_mime_part(inner), limits, depth + 1, parts); !r)
        return r;
    }
  }
  return {};
}

}  // namespace

Result<void> check_tree(GMimeObject* root, const MimeLimits& limits) {
  unsigned parts = 0;
  return walk(root, limits, 0, parts);
}

Result<GPtr<GMimeMessage>> parse_message(std::string_view data, const MimeLimits& limits) {
  ensure_gmime();
  if (data.size() > limits.max_size) return malformed("message larger than the parse limit");
  const auto header_end =
      data.find("\n\r\n") != std::string_view::npos ? data.find("\n\r\n") : data.find("\n\n");
  if (header_end == std::string_view::npos ? data.size() > limits.max_header_bytes
                                           : header_end > limits.max_header_bytes)
    return malformed("header section too large");
  // RFC 5322 §2.3 / RFC 2045 §2.7: no NUL in a message (we offer no BINARYMIME).
  // GMime keeps it, but serialising a part back to bytes (to_crlf_string) goes
  // through a C string and would silently cut the rest of the message off.
  if (data.find('\0') != std::string_view::npos) return malformed("NUL byte in message");
  if (count_content_type_lines(data) > 2 * limits.max_parts)
    return malformed("too many Content-Type lines");

  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  std::unique_ptr<GMimeParserOptions, ParserOptionsFree> opts(g_mime_parser_options_new());
  ParseWarnings warnings;
  g_mime_parser_options_set_warning_callback(opts.get(), on_warning, &warnings);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), opts.get()));
  if (!msg) return malformed("not a MIME message");
  if (warnings.critical)
    return malformed("ambiguous MIME structure (GMime warning " +
                     std::to_string(static_cast<int>(warnings.first)) + ")");
  GMimeObject* root = g_mime_message_get_mime_part(msg.get());
  if (!root) return malformed("message without a body part");
  if (auto r = check_tree(root, limits); !r) return r.error();
  return msg;
}

}  // namespace sealpost::seal
