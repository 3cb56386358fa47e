#include "relay/delivery/smtp_reply.h"

#include <cctype>

namespace sealpost::delivery {
namespace {

bool digit(char c) {
  return c >= '0' && c <= '9';
}

// Length of a status-code element (1-3 digits) at s[pos], 0 if none.
std::size_t digits_at(std::string_view s, std::size_t pos) {
  std::size_t n = 0;
  while (pos + n < s.size() && n < 3 && digit(s[pos + n])) ++n;
  return n;
}

}  // namespace

std::optional<ReplyLine> parse_reply_line(std::string_view line) {
  if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2])) return std::nullopt;
  if (line[0] < '2' || line[0] > '5') return std::nullopt;
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (line.size() == 3) return ReplyLine{code, false, {}};
  if (line[3] != ' ' && line[3] != '-') return std::nullopt;
  return ReplyLine{code, line[3] == '-', line.substr(4)};
}

std::string enhanced_code_of(int code, std::string_view text) {
  if (text.size() < 5 || text[0] - '0' != code / 100 || text[1] != '.') return {};
  std::size_t pos = 2;
  const std::size_t a = digits_at(text, pos);
  if (a == 0 || pos + a >= text.size() || text[pos + a] != '.') return {};
  pos += a + 1;
  const std::size_t b = digits_at(text, pos);
  if (b == 0) return {};
  pos += b;
  if (pos < text.size() && text[pos] != ' ') return {};
  return std::string(text.substr(0, pos));
}

SmtpReply assemble_reply(const std::vector<ReplyLine>& lines) {
  SmtpReply reply;
  if (lines.empty()) return reply;
  reply.code = lines.front().code;
  for (const auto& l : lines) {
    if (l.code != reply.code) return SmtpReply{};  // inconsistent codes: malformed
    reply.lines.emplace_back(l.text);
    std::string_view text = l.text;
    const std::string enhanced = enhanced_code_of(l.code, text);
    if (!enhanced.empty()) {
      if (reply.enhanced.empty()) reply.enhanced = enhanced;
      text.remove_prefix(std::min(text.size(), enhanced.size() + 1));
    }
    if (!reply.text.empty()) reply.text += " / ";
    reply.text.append(text);
  }
  return reply;
}

}  // namespace sealpost::delivery
