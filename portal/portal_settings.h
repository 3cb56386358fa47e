// Everything sealpost-portal needs to run: the portal: section of
// sealpost.yaml (see sealpost.yaml(5)) plus defaults for what it leaves out;
// sealpost-portal also accepts a few of them as command-line overrides.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/cidr.h"
#include "common/result.h"
#include "config/config.h"
#include "portal/smtp_submit.h"

namespace sealpost::portal {

struct PortalSettings {
  std::string state_dir;  // the portal reads only <state_dir>/pickup/
  std::string public_url;
  std::string listen = "127.0.0.1:8443";
  std::optional<TlsFiles> tls;
  std::vector<Cidr> trusted_proxies;
  std::string sms_command;  // empty: sms pickups cannot send codes (fail closed)
  std::optional<SmsWebhookConfig> sms_webhook;  // portal.sms_webhook, instead of the command

  SubmitTarget submit;                     // portal.submit: "127.0.0.1:10025"
  std::string practice_name = "Sealpost";  // portal.practice_name
  std::string mail_from;                   // portal.mail_from: default portal@<hostname>
  std::string templates_dir = "/etc/sealpost/templates";  // portal.templates
  int max_attempts = 5;                     // portal.max_attempts (per pickup, then locked)
  std::chrono::seconds code_ttl{600};       // portal.code_ttl
  std::size_t max_reply_bytes = 20u << 20;  // portal.max_reply_size (whole form post)
  std::size_t max_reply_files = 5;
  std::chrono::seconds session_idle{900};
  std::chrono::seconds index_retention{90 * 24 * 3600};  // portal.index_retention
  bool pickup_receipt = true;                            // portal.pickup_receipt
  bool portal_passwords = true;                          // portal.portal_passwords
  int client_failures_per_hour = 20;  // failed codes / bad links per client address
  unsigned max_connections = 200;
  unsigned max_connections_per_client = 20;  // limits.max_connections_per_client
};

PortalSettings settings_from_config(const Config& c);

// Applies "--key value" overrides (submit, practice-name, mail-from, templates,
// max-attempts); returns an error naming the bad option.
Result<void> apply_override(PortalSettings& s, std::string_view key, std::string_view value);

}  // namespace sealpost::portal
