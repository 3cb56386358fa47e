#include "seal/sms_subject_tag.h"

#include <cctype>

namespace sealpost::seal {

namespace {

std::size_t find_tag(const std::string& s, std::size_t from) {
  for (std::size_t i = from; i + 5 <= s.size(); ++i) {
    if (s[i] != '[') continue;
    bool match = true;
    for (std::size_t k = 0; k < 4 && match; ++k)
      match = std::tolower(static_cast<unsigned char>(s[i + 1 + k])) == "sms:"[k];
    if (match) return i;
  }
  return std::string::npos;
}

// "+", then 6 to 20 digits; spaces, '-', '/' and '(' ')' between them allowed.
std::optional<std::string> normalise(const std::string& raw) {
  std::string out;
  std::size_t i = 0;
  while (i < raw.size() && raw[i] == ' ') ++i;
  if (i >= raw.size() || raw[i] != '+') return std::nullopt;
  out += '+';
  for (++i; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c >= '0' && c <= '9')
      out += c;
    else if (c != ' ' && c != '-' && c != '/' && c != '(' && c != ')')
      return std::nullopt;
  }
  if (out.size() < 7 || out.size() > 21) return std::nullopt;
  return out;
}

}  // namespace

SmsTag take_sms_tag(std::string& subject) {
  SmsTag tag;
  std::size_t pos = 0;
  while ((pos = find_tag(subject, pos)) != std::string::npos) {
    const std::size_t close = subject.find(']', pos);
    const std::size_t end = close == std::string::npos ? subject.size() : close + 1;
    tag.found = true;
    if (!tag.number && close != std::string::npos)
      tag.number = normalise(subject.substr(pos + 5, close - pos - 5));
    std::size_t from = pos, to = end;
    if (to < subject.size() && subject[to] == ' ')
      ++to;
    else if (from > 0 && subject[from - 1] == ' ')
      --from;
    subject.erase(from, to - from);
    // The splice can join a new "[sms:" across it ("[sm" + "s:..."), which
    // then starts at most 4 bytes before it: look again from there, so no
    // tag ever survives.
    pos = from >= 4 ? from - 4 : 0;
  }
  return tag;
}

}  // namespace sealpost::seal
