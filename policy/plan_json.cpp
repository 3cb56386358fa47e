#include "policy/plan_json.h"

#include <cstdio>

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
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
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
