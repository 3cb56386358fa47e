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

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

void Base64Lines::put(char c, std::string& out) {
  out += c;
  if (++line_ == 76) {
    out += "\r\n";
    line_ = 0;
  }
}

void Base64Lines::feed(std::string_view bytes, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  // Complete the triple left over from the last piece.
  while (carried_ > 0 && carried_ < 3 && i < bytes.size()) {
    if (carried_ == 2) {
      const unsigned v = (carry_[0] << 16) | (carry_[1] << 8) | p[i++];
      put(kAlphabet[(v >> 18) & 63], out);
      put(kAlphabet[(v >> 12) & 63], out);
      put(kAlphabet[(v >> 6) & 63], out);
      put(kAlphabet[v & 63], out);
      carried_ = 0;
    } else {
      carry_[carried_++] = p[i++];
    }
  }
  // Every sealed S/MIME byte passes here: whole triples are written straight into
  // space sized up front, not appended a character at a time. Characters always
  // come in fours and 76 is a multiple of four, so a line only ever ends after a
  // complete quad.
  const std::size_t triples = (bytes.size() - i) / 3;
  if (triples > 0) {
    const std::size_t chars = triples * 4;
    const std::size_t line_ends = (static_cast<std::size_t>(line_) + chars) / 76;
    const std::size_t start = out.size();
    out.resize(start + chars + 2 * line_ends);
    char* o = out.data() + start;
    int line = line_;
    for (std::size_t t = 0; t < triples; ++t, i += 3) {
      const unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
      o[0] = kAlphabet[(v >> 18) & 63];
      o[1] = kAlphabet[(v >> 12) & 63];
      o[2] = kAlphabet[(v >> 6) & 63];
      o[3] = kAlphabet[v & 63];
      o += 4;
      if ((line += 4) == 76) {
        o[0] = '\r';
        o[1] = '\n';
        o += 2;
        line = 0;
      }
    }
    line_ = line;
  }
  for (; i < bytes.size(); ++i) carry_[carried_++] = p[i];
}

void Base64Lines::finish(std::string& out) {
  if (carried_ > 0) {
    unsigned v = carry_[0] << 16;
    if (carried_ > 1) v |= carry_[1] << 8;
    put(kAlphabet[(v >> 18) & 63], out);
    put(kAlphabet[(v >> 12) & 63], out);
    put(carried_ > 1 ? kAlphabet[(v >> 6) & 63] : '=', out);
    put('=', out);
    carried_ = 0;
  }
  if (line_ != 0) out += "\r\n";
  line_ = 0;
}

std::string base64_lines(std::string_view bytes) {
  Base64Lines enc;
  std::string out;
  enc.feed(bytes, out);
  enc.finish(out);
  return out;
}

}  // namespace sealpost::seal
