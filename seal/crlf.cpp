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
  out.reserve(out.size() + bytes.size() * 4 / 3 + bytes.size() / 38 + 8);
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
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    put(kAlphabet[(v >> 18) & 63], out);
    put(kAlphabet[(v >> 12) & 63], out);
    put(kAlphabet[(v >> 6) & 63], out);
    put(kAlphabet[v & 63], out);
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
