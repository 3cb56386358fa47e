#include "seal/header_block.h"

#include <algorithm>
#include <cctype>

namespace sealpost::seal {

SplitMessage split_headers(std::string_view msg) {
  SplitMessage out;
  std::size_t pos = 0;
  while (pos < msg.size()) {
    const auto eol = msg.find("\r\n", pos);
    if (eol == std::string_view::npos) {  // no blank line: all header, no body
      pos = msg.size();
      break;
    }
    if (eol == pos) {  // blank line ends the header section
      pos += 2;
      break;
    }
    const std::string_view line = msg.substr(pos, eol + 2 - pos);
    if ((line[0] == ' ' || line[0] == '\t') && !out.fields.empty()) {
      auto& f = out.fields.back();
      f.raw += line;
      f.value += std::string(line.substr(0, line.size() - 2));
    } else {
      const auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        HeaderField f;
        f.name = std::string(line.substr(0, colon));
        f.lower = f.name;
        std::transform(f.lower.begin(), f.lower.end(), f.lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        f.raw = std::string(line);
        std::string_view v = line.substr(colon + 1, line.size() - colon - 3);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        f.value = std::string(v);
        out.fields.push_back(std::move(f));
      }
    }
    pos = eol + 2;
  }
  out.body = msg.substr(std::min(pos, msg.size()));
  return out;
}

bool is_mime_structural(const std::string& n) {
  return n == "mime-version" || n.rfind("content-", 0) == 0;
}

}  // namespace sealpost::seal
