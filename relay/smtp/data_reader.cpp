#include "relay/smtp/data_reader.h"

#include "common/line_scan.h"

namespace sealpost::smtp {

void DataReader::emit(std::string_view bytes, std::string& out) {
  if (problem_ != Problem::None) return;
  size_ += bytes.size();
  if (size_ > max_size_) {
    flag(Problem::TooBig);
    return;
  }
  out.append(bytes);
}

void DataReader::end_line(bool crlf, std::string& out) {
  if (dot_line_ && line_len_ == 0 && crlf && prev_crlf_) {
    done_ = true;  // <CRLF>.<CRLF>
    return;
  }
  // A bare-LF line was already flagged, so nothing is stored for it anyway.
  emit("\r\n", out);
  prev_crlf_ = crlf;
  at_line_start_ = true;
  line_len_ = 0;
  dot_line_ = false;
}

std::size_t DataReader::consume(std::string_view in, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n && !done_) {
    const char c = in[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        ++i;
        end_line(true, out);
        continue;
      }
      // The CR was not followed by LF; the byte is then handled normally.
      flag(Problem::BareCr);
    }
    if (at_line_start_) {
      at_line_start_ = false;
      if (c == '.') {  // dot-stuffing (RFC 5321 §4.5.2): drop the first dot
        dot_line_ = true;
        ++i;
        continue;
      }
    }
    if (c == '\r') {
      pending_cr_ = true;
      ++i;
      continue;
    }
    if (c == '\n') {
      flag(Problem::BareLf);
      ++i;
      end_line(false, out);
      continue;
    }
    // Fast path: take the run of ordinary bytes up to the next CR or LF.
    const std::size_t j = i + 1 + find_cr_or_lf(in.data() + i + 1, n - i - 1);
    line_len_ += j - i;
    if (line_len_ > kMaxTextLine) flag(Problem::LineTooLong);
    emit(in.substr(i, j - i), out);
    i = j;
  }
  return i;
}

}  // namespace sealpost::smtp
