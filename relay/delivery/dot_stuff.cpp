#include "relay/delivery/dot_stuff.h"

#include <cstring>

namespace sealpost::delivery {

bool write_dot_stuffed(std::string_view data, const std::function<bool(std::string_view)>& write) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    // pos is at the start of a line.
    if (data[pos] == '.' && !write(".")) return false;
    const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
    if (nl == nullptr) {
      // The last line has no line end: end it, so "." stands on a line of its own.
      if (!write(data.substr(pos)) || !write("\r\n")) return false;
      pos = data.size();
      break;
    }
    const std::size_t eol = static_cast<const char*>(nl) - data.data();
    const bool crlf = eol > pos && data[eol - 1] == '\r';
    const std::size_t text_end = crlf ? eol - 1 : eol;
    if (!write(data.substr(pos, text_end - pos)) || !write("\r\n")) return false;
    pos = eol + 1;
  }
  return write(".\r\n");
}

}  // namespace sealpost::delivery
