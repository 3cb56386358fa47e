#include "config/config_keys.h"

namespace sealpost {

const std::vector<ConfigSection>& config_sections() {
  static const std::vector<ConfigSection> sections = {
      {"",
       {"state_dir", "hostname", "listen", "users", "smarthost", "policy", "keystore", "portal",
        "imap", "limits", "queue", "log", "audit", "metrics"}},
      {"listen[]", {"address", "mode", "implicit_tls", "tls", "trusted_networks"}},
      {"listen[].tls", {"cert", "key"}},
      {"smarthost",
       {"host", "port", "tls", "ca_file", "username", "password_file", "insecure",
        "connect_timeout", "command_timeout"}},
      {"keystore", {"trust_anchors", "crl_dir", "domain_signers"}},
      {"portal",
       {"public_url", "listen", "tls", "trusted_proxies", "sms_command", "submit", "practice_name",
        "mail_from", "templates", "max_attempts", "code_ttl", "max_reply_size", "index_retention",
        "pickup_receipt", "portal_passwords", "sms_webhook"}},
      {"portal.tls", {"cert", "key"}},
      {"portal.sms_webhook", {"url", "auth_header_file", "ca_file", "timeout"}},
      {"imap[]",
       {"host", "port", "tls", "ca_file", "username", "password_file", "folders", "harvest",
        "key_change", "originals_folder", "readable_folder", "poll_interval"}},
      {"limits",
       {"max_message_size", "max_recipients", "max_connections", "max_connections_per_client",
        "max_auth_failures", "auth_failures_per_client", "idle_timeout", "data_timeout",
        "message_memory", "shutdown_grace"}},
      {"queue", {"retry_schedule", "max_age", "workers", "spool_key", "spool_old_keys"}},
      {"log", {"level", "format"}},
      // Read by audit/audit_settings.cpp and metrics/metrics_settings.cpp; the
      // main loader checks only that no unknown key hides in them.
      {"audit", {"retention"}},
      {"metrics", {"listen"}},
  };
  return sections;
}

const std::vector<std::string>& config_section_keys(const std::string& path) {
  static const std::vector<std::string> none;
  for (const auto& s : config_sections())
    if (s.path == path) return s.keys;
  return none;
}

const std::vector<std::string>& config_known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const auto& s : config_sections())
      for (const auto& k : s.keys) out.push_back(s.path.empty() ? k : s.path + "." + k);
    return out;
  }();
  return keys;
}

}  // namespace sealpost
