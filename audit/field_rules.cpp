#include "audit/field_rules.h"

#include <array>

namespace sealpost::audit {
namespace {

// Names that, in mail software, hold message content or credentials.
constexpr std::array<std::string_view, 14> kForbidden = {
    "subject", "body",    "content",  "text",       "message", "data",        "headers",
    "header",  "payload", "password", "passphrase", "secret",  "private_key", "attachment"};

bool contains_forbidden_word(std::string_view name) {
  // "mail_subject", "body.html", "x.password" are refused as well as the bare word.
  for (auto word : kForbidden) {
    for (std::size_t at = name.find(word); at != std::string_view::npos;
         at = name.find(word, at + 1)) {
      const bool starts = at == 0 || name[at - 1] == '_' || name[at - 1] == '.';
      const std::size_t end = at + word.size();
      const bool ends = end == name.size() || name[end] == '_' || name[end] == '.';
      if (starts && ends) return true;
    }
  }
  return false;
}

}  // namespace

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  return true;
}

bool is_forbidden_field(std::string_view name) {
  return contains_forbidden_word(name);
}

Fields sanitize_fields(const Fields& in) {
  Fields out;
  out.reserve(in.size());
  std::string dropped;
  for (const auto& [name, value] : in) {
    if (!is_valid_name(name) || is_forbidden_field(name) || name == "dropped" ||
        out.size() >= kMaxFieldsPerEvent - 1) {
      if (!dropped.empty()) dropped += ',';
      // A malformed name is not echoed: it may itself be content.
      dropped += is_valid_name(name) ? name : std::string("<invalid>");
      continue;
    }
    std::string v =
        value.size() > kMaxFieldValueBytes ? value.substr(0, kMaxFieldValueBytes) : value;
    out.emplace_back(name, std::move(v));
  }
  if (!dropped.empty()) out.emplace_back("dropped", dropped.substr(0, kMaxFieldValueBytes));
  return out;
}

std::string sanitize_type(std::string_view type) {
  return is_valid_name(type) ? std::string(type) : std::string("invalid");
}

}  // namespace sealpost::audit
