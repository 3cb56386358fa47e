// Splits client input into command lines with the strict rules that keep
// client and server in step (anti SMTP smuggling): a line ends only with
// CRLF; a bare CR or LF, or a NUL, makes the line bad; an over-long line is
// skipped up to its end and answered once.
#pragma once

#include <cstddef>
#include <string_view>

namespace sealpost::smtp {

// RFC 5321 §4.5.3.1.4 allows 512 octets per command line; extensions
// (long AUTH PLAIN responses, many ESMTP parameters) need more. Beyond this we
// answer "line too long" instead of buffering without bound.
inline constexpr std::size_t kMaxCommandLine = 2048;  // including CRLF

struct CommandLineScan {
  enum class Kind {
    Incomplete,  // no line end yet; nothing consumed
    Line,        // `line` holds the command without CRLF
    BadEnding,   // bare CR, bare LF or NUL inside the line
    TooLong,     // longer than kMaxCommandLine (end already seen)
    Skipping,    // inside an over-long line; `consumed` bytes dropped
  };
  Kind kind = Kind::Incomplete;
  std::size_t consumed = 0;
  std::string_view line;
};

class CommandLineReader {
 public:
  // Looks at the front of `input`. The caller drops `consumed` bytes.
  CommandLineScan next(std::string_view input);
  // Forget a half-skipped over-long line (STARTTLS/RSET of the connection).
  void reset() { skipping_ = false; }

 private:
  bool skipping_ = false;  // inside a line that already exceeded the limit
};

}  // namespace sealpost::smtp
