// Line-end and transfer-encoding helpers for the bytes that get signed,
// encrypted and sent: SMTP and CMS both want canonical CRLF.
#pragma once

#include <string>
#include <string_view>

#include "common/line_scan.h"

namespace sealpost::seal {

// Every bare LF or bare CR becomes CRLF; existing CRLF stays.
std::string canonical_crlf(std::string_view in);

// canonical_crlf for bytes that arrive in pieces: a CR ending one piece and an
// LF starting the next are one line end. Canonical input passes through in runs
// as long as the pieces, so the common case costs a memchr per line.
class CrlfStream {
 public:
  // Calls `emit` with the canonical form of `in`, in order; stops and returns
  // false as soon as `emit` does.
  template <class Emit>
  bool feed(std::string_view in, Emit&& emit);
  // Whether the bytes so far end with CRLF (true before any byte).
  bool ends_with_crlf() const { return ends_crlf_; }

 private:
  bool skip_lf_ = false;  // a CR ended the last piece and was emitted as CRLF
  bool ends_crlf_ = true;
  char last_ = '\0';
};
template <class Emit>
bool CrlfStream::feed(std::string_view in, Emit&& emit) {
  auto out = [&](std::string_view piece) {
    if (piece.empty()) return true;
    if (piece.size() >= 2)
      ends_crlf_ = piece[piece.size() - 2] == '\r' && piece.back() == '\n';
    else
      ends_crlf_ = last_ == '\r' && piece[0] == '\n';
    last_ = piece.back();
    return emit(piece);
  };
  std::size_t pos = 0;
  if (skip_lf_ && !in.empty()) {
    skip_lf_ = false;
    if (in[0] == '\n') pos = 1;
  }
  std::size_t run = pos;  // start of the bytes not emitted yet
  while (pos < in.size()) {
    const std::size_t eol = pos + find_cr_or_lf(in.data() + pos, in.size() - pos);
    if (eol == in.size()) break;
    if (in[eol] == '\r' && eol + 1 < in.size() && in[eol + 1] == '\n') {
      pos = eol + 2;  // already canonical: stays in the run
      continue;
    }
    if (!out(in.substr(run, eol - run)) || !out(std::string_view("\r\n", 2))) return false;
    // A CR at the very end may be the first half of a CRLF split across pieces.
    if (in[eol] == '\r' && eol + 1 == in.size()) skip_lf_ = true;
    pos = run = eol + 1;
  }
  return run >= in.size() || out(in.substr(run));
}

// RFC 2045 base64 with 76-character lines and CRLF line ends.
std::string base64_lines(std::string_view bytes);

// base64_lines for bytes that arrive in pieces (a CMS structure as OpenSSL
// streams it out): same output as base64_lines over all pieces together.
class Base64Lines {
 public:
  // Appends the encoded form of what can be encoded so far to `out`.
  void feed(std::string_view bytes, std::string& out);
  // The rest, with padding and the last line end.
  void finish(std::string& out);

 private:
  void put(char c, std::string& out);
  unsigned char carry_[2] = {};
  int carried_ = 0;
  int line_ = 0;
};

}  // namespace sealpost::seal
