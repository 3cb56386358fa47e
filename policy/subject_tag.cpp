#include "policy/subject_tag.h"

namespace sealpost::policy {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool blank(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::size_t find_subject_tag(std::string_view subject, std::string_view tag) {
  if (tag.empty() || tag.size() > subject.size()) return std::string_view::npos;
  for (std::size_t i = 0; i + tag.size() <= subject.size(); ++i) {
    std::size_t k = 0;
    while (k < tag.size() && lower(subject[i + k]) == lower(tag[k])) ++k;
    if (k == tag.size()) return i;
  }
  return std::string_view::npos;
}

std::optional<std::string> remove_subject_tag(std::string_view subject, std::string_view tag) {
  std::size_t at = find_subject_tag(subject, tag);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view before = subject.substr(0, at);
  std::string_view after = subject.substr(at + tag.size());
  while (!before.empty() && blank(before.back())) before.remove_suffix(1);
  while (!after.empty() && blank(after.front())) after.remove_prefix(1);
  std::string out(before);
  if (!before.empty() && !after.empty()) out += ' ';
  out += after;
  return out;
}

}  // namespace sealpost::policy
