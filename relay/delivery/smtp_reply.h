// Parsing of SMTP replies from the smarthost (RFC 5321 §4.2, RFC 2034 enhanced
// codes). Kept apart from the socket code so it can be tested and fuzzed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sealpost::delivery {

struct SmtpReply {
  int code = 0;                    // 0 = malformed / no reply
  std::string enhanced;            // "2.0.0"; "" when the server sent none
  std::string text;                // text of all lines, joined by " / ", enhanced code removed
  std::vector<std::string> lines;  // raw text per line (EHLO keywords live here)

  bool positive() const { return code >= 200 && code < 400; }
  bool permanent() const { return code >= 500; }
};

// Parses one reply line "250-TEXT" / "250 TEXT" / "250". Returns the code and
// whether more lines follow; nullopt when the line is not a reply line.
struct ReplyLine {
  int code;
  bool more;
  std::string_view text;
};
std::optional<ReplyLine> parse_reply_line(std::string_view line);

// "5.1.1 rest" -> "5.1.1" when its class matches the reply code's first digit.
std::string enhanced_code_of(int code, std::string_view text);

// Builds the reply from its lines (all must carry the same code).
SmtpReply assemble_reply(const std::vector<ReplyLine>& lines);

}  // namespace sealpost::delivery
