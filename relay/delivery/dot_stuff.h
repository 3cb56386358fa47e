// SMTP DATA transparency (RFC 5321 4.5.2) for the outbound side: every line
// that starts with "." gets one more, every line ends in CRLF (a bare LF
// becomes CRLF), and the end-of-data mark "CRLF.CRLF" is appended.
//
// Written here instead of using libetpan's mailstream_send_data(), which
// inspects and writes the message one byte at a time (a tenth of the relay's
// CPU on the pass-through path in callgrind). This version copies whole runs
// between line ends, found with memchr, into the caller's sink, and takes the
// message in pieces (a big one is read from its spill file as it is sent).
#pragma once

#include <functional>
#include <string_view>

namespace sealpost::delivery {

using DotSink = std::function<bool(std::string_view)>;

class DotStuffer {
 public:
  // Passes the transmitted form of the next piece of the message to `write`;
  // stops and returns false as soon as `write` does.
  bool feed(std::string_view data, const DotSink& write);
  // Ends the last line if it has no line end, then writes ".\r\n".
  bool finish(const DotSink& write);

 private:
  bool at_line_start_ = true;
  char last_ = '\n';
};

// The whole message in one piece (tests, small callers).
bool write_dot_stuffed(std::string_view data, const DotSink& write);

}  // namespace sealpost::delivery
