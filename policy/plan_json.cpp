#include "policy/plan_json.h"

namespace sealpost::policy {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          auto u = static_cast<unsigned char>(c);
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;  // UTF-8 passes through unchanged
        }
    }
  }
  return out + "\"";
}

std::string plan_to_json(const Plan& plan) {
  std::string out = "{\"recipients\": [";
  bool first = true;
  for (const auto& r : plan.recipients) {
    out += first ? "" : ", ";
    first = false;
    out += "{\"address\": " + json_string(r.address);
    out += ", \"method\": " + json_string(method_name(r.method));
    out += ", \"rule\": " + json_string(r.rule);
    out += ", \"rule_location\": " + json_string(r.rule_location);
    out += ", \"sign\": ";
    out += r.sign ? "true" : "false";
    out += ", \"smime_cipher\": " + json_string(r.smime_cipher);
    out += ", \"scrub_profile\": " + json_string(r.scrub_profile);
    out += ", \"pickup\": {\"auth\": " + json_string(r.pickup.auth) +
           ", \"expires_seconds\": " + std::to_string(r.pickup.expires.count()) + "}";
    if (!r.reject_text.empty()) out += ", \"reject_text\": " + json_string(r.reject_text);
    out += ", \"reasons\": [";
    for (std::size_t i = 0; i < r.reasons.size(); ++i)
      out += (i ? ", " : "") + json_string(r.reasons[i]);
    out += "]}";
  }
  out += "], \"subject_tag_removed\": ";
  out += plan.subject_tag_removed.empty() ? "null" : json_string(plan.subject_tag_removed);
  out += "}";
  return out;
}

}  // namespace sealpost::policy
