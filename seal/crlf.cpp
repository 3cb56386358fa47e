#include "seal/crlf.h"

#include "common/line_scan.h"

namespace sealpost::seal {

std::string canonical_crlf(std::string_view in) {
  // Copies runs between line ends in one go: this runs over every sealed byte.
  std::string out;
  out.reserve(in.size() + in.size() / 32);
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t eol = pos + find_cr_or_lf(in.data() + pos, in.size() - pos);
    if (eol == in.size()) {
      out.append(in.data() + pos, in.size() - pos);
      break;
    }
    out.append(in.data() + pos, eol - pos);
    out.append("\r\n", 2);
    pos = eol + 1;
    if (in[eol] == '\r' && pos < in.size() && in[pos] == '\n') ++pos;
  }
  return out;
}

std::string base64_lines(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(bytes.size() * 4 / 3 + bytes.size() / 38 + 8);
  std::size_t line = 0;
  auto put = [&](char c) {
    out += c;
    if (++line == 76) {
      out += "\r\n";
      line = 0;
    }
  };
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    put(kAlphabet[(v >> 18) & 63]);
    put(kAlphabet[(v >> 12) & 63]);
    put(kAlphabet[(v >> 6) & 63]);
    put(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    unsigned v = p[i] << 16;
    if (i + 1 < bytes.size()) v |= p[i + 1] << 8;
    put(kAlphabet[(v >> 18) & 63]);
    put(kAlphabet[(v >> 12) & 63]);
    put(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    put('=');
  }
  if (line != 0) out += "\r\n";
  return out;
}

}  // namespace sealpost::seal
