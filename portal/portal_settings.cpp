#include "portal/portal_settings.h"

#include <charconv>

#include "config/host_port.h"

namespace sealpost::portal {

PortalSettings settings_from_config(const Config& c) {
  PortalSettings s;
  s.state_dir = c.state_dir;
  s.max_connections = c.limits.max_connections;
  s.max_connections_per_client = c.limits.max_connections_per_client;
  s.mail_from = "portal@" + (c.hostname.empty() ? std::string("localhost") : c.hostname);
  s.submit.helo = c.hostname.empty() ? "sealpost-portal" : c.hostname;
  for (const auto& l : c.listen) {
    // Default submission target: the relay's filter listener if it has one.
    if (l.mode == ListenMode::Filter) {
      s.submit.host = l.host;
      s.submit.port = l.port;
      break;
    }
  }
  if (c.portal) {
    s.public_url = c.portal->public_url;
    s.listen = c.portal->listen;
    s.tls = c.portal->tls;
    s.trusted_proxies = c.portal->trusted_proxies;
    s.sms_command = c.portal->sms_command;
    if (!c.portal->submit.empty()) {
      if (auto hp = parse_host_port(c.portal->submit)) {  // validated by the loader
        s.submit.host = hp->host;
        s.submit.port = hp->port;
      }
    }
    if (!c.portal->practice_name.empty()) s.practice_name = c.portal->practice_name;
    if (!c.portal->mail_from.empty()) s.mail_from = c.portal->mail_from;
    if (!c.portal->templates.empty()) s.templates_dir = c.portal->templates;
    s.max_attempts = static_cast<int>(c.portal->max_attempts);
    s.code_ttl = c.portal->code_ttl;
    s.max_reply_bytes = c.portal->max_reply_size;
    s.index_retention = c.portal->index_retention;
    s.pickup_receipt = c.portal->pickup_receipt;
    s.portal_passwords = c.portal->portal_passwords;
    s.sms_webhook = c.portal->sms_webhook;
  }
  return s;
}

Result<void> apply_override(PortalSettings& s, std::string_view key, std::string_view value) {
  if (key == "submit") {
    auto hp = parse_host_port(value);
    if (!hp || !hp->host_is_ip) return Error::plain("--submit: expected IP:PORT");
    s.submit.host = hp->host;
    s.submit.port = hp->port;
  } else if (key == "practice-name") {
    s.practice_name = value;
  } else if (key == "mail-from") {
    s.mail_from = value;
  } else if (key == "templates") {
    s.templates_dir = value;
  } else if (key == "max-attempts") {
    int n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size() || n < 1 || n > 100)
      return Error::plain("--max-attempts: expected 1..100");
    s.max_attempts = n;
  } else {
    return Error::plain("unknown option --" + std::string(key));
  }
  return {};
}

}  // namespace sealpost::portal
