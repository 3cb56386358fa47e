// The DATA phase of one message, byte-exact and bounded (RFC 5321 §4.1.1.4,
// §4.5.2). Only <CRLF>.<CRLF> ends the data: a "." line reached through a
// bare LF or ended by a bare LF is not an end (SMTP smuggling). Bare CR/LF,
// over-long lines and oversize messages do not stop the reading: the message
// is read to its real end, nothing more is stored, and the problem decides
// the reply. Output is the unstuffed message with CRLF line ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sealpost::smtp {

// RFC 5322 §2.1.1: lines MUST NOT exceed 998 characters excluding CRLF.
inline constexpr std::size_t kMaxTextLine = 998;

class DataReader {
 public:
  enum class Problem { None, BareCr, BareLf, LineTooLong, TooBig };

  explicit DataReader(std::uint64_t max_size) : max_size_(max_size) {}

  // Consumes bytes from `in` up to and including the end-of-data line (or all
  // of it), appending message bytes to `out` while no problem was seen.
  // Returns the number of bytes consumed.
  std::size_t consume(std::string_view in, std::string& out);

  bool done() const { return done_; }
  Problem problem() const { return problem_; }
  std::uint64_t size() const { return size_; }  // message bytes (unstuffed)

 private:
  void flag(Problem p) {
    if (problem_ == Problem::None) problem_ = p;
  }
  void emit(std::string_view bytes, std::string& out);
  void end_line(bool crlf, std::string& out);

  std::uint64_t max_size_;
  std::uint64_t size_ = 0;
  std::size_t line_len_ = 0;   // characters of the current line so far
  bool at_line_start_ = true;  // DATA starts right after "DATA<CRLF>"
  bool prev_crlf_ = true;      // the previous line ended with a real CRLF
  bool dot_line_ = false;      // current line began with a (removed) dot
  bool pending_cr_ = false;    // last byte was CR; LF must follow
  bool done_ = false;
  Problem problem_ = Problem::None;
};

}  // namespace sealpost::smtp
