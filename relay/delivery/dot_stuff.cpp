#include "relay/delivery/dot_stuff.h"

#include <cstring>

namespace sealpost::delivery {

bool DotStuffer::feed(std::string_view data, const DotSink& write) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (at_line_start_) {
      if (data[pos] == '.' && !write(".")) return false;
      at_line_start_ = false;
    }
    const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
    if (nl == nullptr) {  // the line goes on in the next piece
      if (!write(data.substr(pos))) return false;
      last_ = data.back();
      return true;
    }
    const std::size_t eol = static_cast<const char*>(nl) - data.data();
    // The CR of a CRLF may have ended the previous piece.
    const bool crlf = eol > pos ? data[eol - 1] == '\r' : last_ == '\r';
    if (crlf) {
      if (!write(data.substr(pos, eol + 1 - pos))) return false;
    } else if (!write(data.substr(pos, eol - pos)) || !write("\r\n")) {
      return false;
    }
    last_ = '\n';
    at_line_start_ = true;
    pos = eol + 1;
  }
  return true;
}

bool DotStuffer::finish(const DotSink& write) {
  // The last line has no line end: end it, so "." stands on a line of its own.
  if (!at_line_start_ && !write("\r\n")) return false;
  at_line_start_ = true;
  return write(".\r\n");
}

bool write_dot_stuffed(std::string_view data, const DotSink& write) {
  DotStuffer stuffer;
  return stuffer.feed(data, write) && stuffer.finish(write);
}

}  // namespace sealpost::delivery
