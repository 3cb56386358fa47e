#include "seal/message_parser.h"

#include <cctype>
#include <cstring>
#include <string>

namespace sealpost::seal {

namespace {

Error malformed(std::string reason) {
  return Error::make(554, "5.6.0", "message structure refused by the relay", std::move(reason));
}

constexpr int kMaxParams = 64;
constexpr std::size_t kMaxParamNameBytes = 128;

// The checks made on the raw bytes before GMime parses them, fed in pieces.
// Lines starting with "Content-Type:" bound the number of entities GMime can
// create (and its recursion depth) before we let it loose on the bytes.
class PreScan {
 public:
  explicit PreScan(std::uint64_t max_header_bytes) : max_header_(max_header_bytes) {}
  void feed(std::string_view piece) {
    if (std::memchr(piece.data(), '\0', piece.size()) != nullptr) nul_ = true;
    std::size_t i = 0;
    // Byte by byte only through the header section (a few KB), to find its end.
    while (i < piece.size() && header_end_ == kUnknown && seen_ + i <= max_header_) {
      const char c = piece[i];
      if (c == '\n' && (last_ == '\n' || (last_ == '\r' && before_last_ == '\n')))
        header_end_ = seen_ + i;
      before_last_ = last_;
      last_ = c;
      match(c);
      ++i;
    }
    // Then line starts only, found with memchr.
    while (i < piece.size()) {
      if (matched_ >= 0) {
        match(piece[i++]);
        continue;
      }
      const void* nl = std::memchr(piece.data() + i, '\n', piece.size() - i);
      if (nl == nullptr) break;
      i = static_cast<std::size_t>(static_cast<const char*>(nl) - piece.data()) + 1;
      matched_ = 0;
    }
    seen_ += piece.size();
  }
  Result<void> verdict(std::uint64_t size, const MimeLimits& limits) const {
    if (size > limits.max_size) return malformed("message larger than the parse limit");
    const std::uint64_t header = header_end_ == kUnknown ? size : header_end_;
    // (With no end within max_header_bytes, `size` is over the limit too.)
    if (header > limits.max_header_bytes) return malformed("header section too large");
    // RFC 5322 §2.3 / RFC 2045 §2.7: no NUL in a message (we offer no
    // BINARYMIME). GMime keeps it, and a C string on the way would cut the rest.
    if (nul_) return malformed("NUL byte in message");
    if (content_types_ > 2ull * limits.max_parts) return malformed("too many Content-Type lines");
    return {};
  }

 private:
  static constexpr std::uint64_t kUnknown = UINT64_MAX;
  static constexpr std::string_view kName = "content-type:";
  // One more byte of a line: advances the "content-type:" match at its start.
  void match(char c) {
    if (c == '\n') {
      matched_ = 0;  // the next byte starts a line
      return;
    }
    if (matched_ < 0) return;
    const char lc = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lc != kName[static_cast<std::size_t>(matched_)]) {
      matched_ = -1;
    } else if (++matched_ == static_cast<int>(kName.size())) {
      ++content_types_;
      matched_ = -1;
    }
  }

  std::uint64_t max_header_;
  std::uint64_t seen_ = 0;
  std::uint64_t header_end_ = kUnknown;
  std::uint64_t content_types_ = 0;
  int matched_ = 0;  // chars of "content-type:" matched at a line start; -1: not at one
  char last_ = '\n';
  char before_last_ = '\0';
  bool nul_ = false;
};

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

// RFC 2045 §5.1: a parameter name is a token (RFC 2231 adds '*' sections).
bool is_token(const char* s) {
  if (!s || !*s) return false;
  for (const char* p = s; *p; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c <= 0x20 || c >= 0x7f || std::strchr("()<>@,;:\\\"/[]?=", c) != nullptr) return false;
  }
  return true;
}

// GMime 3.2.13 loops forever re-encoding a parameter list that holds a
// parameter name with non-ASCII bytes (jstedfast/gmime#165): any later change
// to that header (a new boundary, hp="cipher") would hang the delivery worker.
// Such names are not MIME anyway, so the message is refused before that.
Result<void> check_params(GMimeParamList* list, const char* header) {
  if (!list) return {};
  const int n = g_mime_param_list_length(list);
  if (n > kMaxParams) return malformed(std::string("too many parameters in ") + header);
  for (int i = 0; i < n; ++i) {
    GMimeParam* param = g_mime_param_list_get_parameter_at(list, i);
    const char* name = g_mime_param_get_name(param);
    if (!is_token(name) || std::strlen(name) > kMaxParamNameBytes)
      return malformed(std::string("invalid parameter name in ") + header);
  }
  return {};
}

Result<void> check_params(GMimeObject* obj) {
  if (GMimeContentType* ct = g_mime_object_get_content_type(obj))
    if (auto r = check_params(g_mime_content_type_get_parameters(ct), "Content-Type"); !r) return r;
  if (GMimeContentDisposition* cd = g_mime_object_get_content_disposition(obj))
    if (auto r = check_params(g_mime_content_disposition_get_parameters(cd), "Content-Disposition");
        !r)
      return r;
  return {};
}

Result<void> walk(GMimeObject* obj, const MimeLimits& limits, unsigned depth, unsigned& parts) {
  if (++parts > limits.max_parts)
    return malformed("more than " + std::to_string(limits.max_parts) + " MIME parts");
  if (depth > limits.max_depth)
    return malformed("MIME nesting deeper than " + std::to_string(limits.max_depth));
  if (auto r = check_params(obj); !r) return r;
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

namespace {

Result<GPtr<GMimeMessage>> construct(GMimeStream* stream, bool persist, const MimeLimits& limits) {
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  g_mime_parser_set_persist_stream(parser.get(), persist ? TRUE : FALSE);
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

}  // namespace

Result<GPtr<GMimeMessage>> parse_message(std::string_view data, const MimeLimits& limits) {
  ensure_gmime();
  if (data.size() > limits.max_size) return malformed("message larger than the parse limit");
  PreScan scan(limits.max_header_bytes);
  scan.feed(data);
  if (auto v = scan.verdict(data.size(), limits); !v) return v.error();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
  return construct(stream.get(), false, limits);
}

std::optional<Error> ParsedMessage::source_error() const {
  auto e = source->error();
  if (!e) return std::nullopt;
  return Error::temp("4.3.0", "Local error in processing", "message source: " + e->what());
}

Result<ParsedMessage> parse_body(const Body& data, const MimeLimits& limits, bool prescanned) {
  ensure_gmime();
  if (data.size() > limits.max_size) return malformed("message larger than the parse limit");
  if (!prescanned) {
    PreScan scan(limits.max_header_bytes);
    auto visited = data.visit([&](std::string_view piece) {
      scan.feed(piece);
      return true;
    });
    if (!visited) return visited.error();
    if (auto v = scan.verdict(data.size(), limits); !v) return v.error();
  }
  ParsedMessage out;
  out.source = std::make_shared<BodyStream>(data);
  auto msg = construct(out.source->get(), true, limits);
  // A failed read makes any message look broken: say it was the read, so the
  // message is retried instead of bounced as malformed.
  if (auto e = out.source_error()) return *e;
  if (!msg) return msg.error();
  out.message = std::move(msg.value());
  return out;
}

}  // namespace sealpost::seal
