#include "relay/smtp/command_line.h"

#include <cstring>

namespace sealpost::smtp {

CommandLineScan CommandLineReader::next(std::string_view input) {
  using Kind = CommandLineScan::Kind;
  const std::size_t window = skipping_ ? input.size() : std::min(input.size(), kMaxCommandLine);
  const void* lf = std::memchr(input.data(), '\n', window);

  if (skipping_) {
    if (lf == nullptr) return {Kind::Skipping, input.size(), {}};
    skipping_ = false;
    const auto end = static_cast<std::size_t>(static_cast<const char*>(lf) - input.data());
    return {Kind::TooLong, end + 1, {}};
  }
  if (lf == nullptr) {
    if (input.size() < kMaxCommandLine) return {Kind::Incomplete, 0, {}};
    skipping_ = true;  // drop this much and keep dropping up to the line end
    return {Kind::Skipping, window, {}};
  }

  const auto end = static_cast<std::size_t>(static_cast<const char*>(lf) - input.data());
  if (end == 0 || input[end - 1] != '\r') return {Kind::BadEnding, end + 1, {}};
  std::string_view line = input.substr(0, end - 1);
  if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos)
    return {Kind::BadEnding, end + 1, {}};
  return {Kind::Line, end + 1, line};
}

}  // namespace sealpost::smtp
