// SMTP DATA transparency (RFC 5321 4.5.2) for the outbound side: every line
// that starts with "." gets one more, every line ends in CRLF (a bare LF
// becomes CRLF), and the end-of-data mark "CRLF.CRLF" is appended.
//
// Written here instead of using libetpan's mailstream_send_data(), which
// inspects and writes the message one byte at a time (a tenth of the relay's
// CPU on the pass-through path in callgrind). This version copies whole runs
// between line ends, found with memchr, into the caller's sink.
#pragma once

#include <functional>
#include <string_view>

namespace sealpost::delivery {

// Calls `write` with consecutive pieces of the transmitted form of `data`
// (the message without the final "."); stops and returns false as soon as
// `write` does. The pieces point into `data` or into static storage.
bool write_dot_stuffed(std::string_view data, const std::function<bool(std::string_view)>& write);

}  // namespace sealpost::delivery
