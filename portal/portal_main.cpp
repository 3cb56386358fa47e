// sealpost-portal: the HTTPS pickup portal, its own process. It needs only the
// config and <state_dir>/pickup/ (never the spool or signing keys); replies and
// staff notices go to sealpostd over SMTP.
#include <curl/curl.h>
#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "audit/audit_log.h"
#include "audit/audit_settings.h"
#include "common/log.h"
#include "config/config.h"
#include "portal/http_server.h"
#include "portal/logging_audit_sink.h"
#include "portal/pickup_store.h"
#include "portal/portal_settings.h"
#include "portal/sms_command.h"
#include "portal/sms_failure_marker.h"
#include "portal/sms_webhook.h"
#include "portal/smtp_submit.h"

using namespace sealpost;

namespace {

constexpr const char* kUsage =
    "usage: sealpost-portal [-c FILE] [--log-format text|json] [--submit IP:PORT]\n"
    "                       [--practice-name NAME] [--mail-from ADDR] [--templates DIR]\n"
    "                       [--max-attempts N]\n";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/sealpost/sealpost.yaml";
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string log_format;  // empty: log.format from the config
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--log-format" && i + 1 < argc) {
      // Like sealpostd: overrides log.format from the config file.
      log_format = argv[++i];
      if (log_format != "text" && log_format != "json") {
        (void)std::fputs("sealpost-portal: --log-format: expected text or json\n", stderr);
        return 2;
      }
    } else if (a == "-h" || a == "--help") {
      (void)std::fputs(kUsage, stdout);
      return 0;
    } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
      overrides.emplace_back(std::string(a.substr(2)), argv[++i]);
    } else {
      (void)std::fputs(kUsage, stderr);
      return 2;
    }
  }
  // Before any thread exists (libcurl's global init is not thread-safe everywhere).
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    (void)std::fputs("sealpost-portal: libcurl failed to initialise\n", stderr);
    return 1;
  }
  auto config = load_config(config_path);
  if (!config) {
    (void)std::fprintf(stderr, "sealpost-portal: %s\n", config.error().what().c_str());
    return 1;
  }
  const std::string& format = log_format.empty() ? config->log.format : log_format;
  log::configure(log::parse_level(config->log.level, log::Level::Info),
                 format == "json" ? log::Format::Json : log::Format::Text);
  if (!config->portal) {
    (void)std::fprintf(stderr, "sealpost-portal: no 'portal' section in %s\n", config_path.c_str());
    return 1;
  }
  portal::PortalSettings settings = portal::settings_from_config(*config);
  for (const auto& [k, v] : overrides) {
    if (auto r = portal::apply_override(settings, k, v); !r) {
      (void)std::fprintf(stderr, "sealpost-portal: %s\n", r.error().what().c_str());
      return 2;
    }
  }

  // The webhook's auth header is read now, before anything else is touched.
  std::optional<portal::SmsWebhook> webhook;
  if (settings.sms_webhook) {
    const auto& w = *settings.sms_webhook;
    webhook = portal::SmsWebhook{w.url, {}, w.ca_file, w.timeout};
    if (!w.auth_header_file.empty()) {
      auto header = portal::load_auth_header(w.auth_header_file);
      if (!header) {
        (void)std::fprintf(stderr, "sealpost-portal: %s\n", header.error().what().c_str());
        return 1;
      }
      webhook->auth_header = std::move(*header);
    }
  }
  auto store = pickup::PickupStore::open(std::filesystem::path(settings.state_dir) / "pickup");
  if (!store) {
    (void)std::fprintf(stderr, "sealpost-portal: %s\n", store.error().what().c_str());
    return 1;
  }

  // Signals are taken by one waiting thread; block them before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  (void)::signal(SIGPIPE, SIG_IGN);

  // The portal keeps its own chain in <state_dir>/portal-audit (it must not touch
  // the relay's files, and a chain has one writer), group-readable so `sealpost
  // audit verify|report` (relay user) can read it (docs/audit.md). No audit log, no service.
  // The same retention as the relay's chain (audit.retention): patient
  // addresses and client IPs in it must not be kept longer than documented.
  auto audit_settings = audit::load_audit_settings(config_path);
  if (!audit_settings) {
    (void)std::fprintf(stderr, "sealpost-portal: %s\n", audit_settings.error().what().c_str());
    return 1;
  }
  audit::AuditLogOptions audit_options;
  audit_options.retention = audit_settings->retention;
  audit_options.dir_mode = 0750;
  audit_options.file_mode = 0640;
  auto audit_log = audit::AuditLog::open(std::filesystem::path(settings.state_dir) / "portal-audit",
                                         audit_options);
  if (!audit_log) {
    (void)std::fprintf(stderr, "sealpost-portal: audit log: %s\n",
                       audit_log.error().what().c_str());
    return 1;
  }
  portal::LoggingAuditSink journal;
  portal::TeeAuditSink audit(**audit_log, journal);
  const portal::SubmitTarget submit = settings.submit;
  auto mail = [submit](const std::string& from, const std::string& rcpt, const std::string& msg) {
    return portal::submit_message(submit, from, rcpt, msg);
  };
  const std::string sms_command = settings.sms_command;
  const std::string practice = settings.practice_name;
  const std::filesystem::path state_dir = settings.state_dir;
  auto send_sms = [sms_command, practice, webhook](const std::string& number,
                                                   const std::string& code) -> Result<void> {
    const std::string text = "Code: " + code + " (" + practice + ")";
    if (webhook) return portal::send_sms_webhook(*webhook, number, code, text);
    if (sms_command.empty())
      return Error::plain("sms: neither portal.sms_command nor portal.sms_webhook is configured");
    return portal::run_sms_command(sms_command, number, text);
  };
  auto sms = [send_sms, state_dir](const std::string& number,
                                   const std::string& code) -> Result<void> {
    auto sent = send_sms(number, code);
    portal::record_sms_outcome(state_dir, sent);  // check-config shows a failing gateway
    return sent;
  };
  portal::PortalApp app(settings, **store, audit, mail, sms);
  portal::ServerLimits limits;
  limits.max_connections = settings.max_connections;
  limits.max_connections_per_client = settings.max_connections_per_client;
  portal::HttpServer server(app, settings, limits);
  if (auto l = server.listen(); !l) {
    (void)std::fprintf(stderr, "sealpost-portal: %s\n", l.error().what().c_str());
    return 1;
  }
  log::info(
      "portal.start",
      {{"listen", settings.listen}, {"port", server.port()}, {"tls", settings.tls ? "yes" : "no"}});

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  // Expiry shreds pickups even when nobody runs `sealpost pickup purge`.
  std::thread purger([&] {
    std::unique_lock lock(mu);
    do {
      // Expiry is a pickup event the practice must be able to show (audit
      // report: "pickups expired"); the portal's chain records it.
      auto n = (*store)->purge_expired(unix_now(), [&audit](const pickup::PickupRecord& r) {
        audit.record(
            AuditEvent{"pickup.expired", {{"pickup_id", r.id}, {"recipient", r.recipient}}});
      });
      if (!n)
        log::error("portal.purge", {{"reason", n.error().what()}});
      else if (*n > 0)
        log::info("portal.purge", {{"shredded", *n}});
      // Shredded rows leave the index portal.index_retention after expiry.
      auto old = (*store)->forget_old(unix_now(), settings.index_retention);
      if (!old)
        log::error("portal.purge", {{"reason", old.error().what()}});
      else if (*old > 0)
        log::info("portal.purge", {{"forgotten", *old}});
      app.flush_audit_throttle();  // summaries of suppressed events from clients gone quiet
    } while (!cv.wait_for(lock, std::chrono::minutes(5), [&] { return stopping; }));
  });
  std::thread waiter([&] {
    int sig = 0;
    // SIGHUP (systemctl reload) re-reads the TLS certificate, e.g. after a
    // renewal; it must never end the service.
    while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
      if (auto r = server.reload_tls(); !r)
        log::error("portal.reload", {{"result", "failed"}, {"error", r.error().what()}});
      else
        log::info("portal.reload", {{"result", "ok"}, {"tls", settings.tls ? "reloaded" : "none"}});
    }
    log::info("portal.stop", {{"signal", sig}});
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    server.stop();
  });
  server.run();
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  purger.join();
  app.flush_audit_throttle();  // nothing suppressed goes unreported at shutdown
  if (waiter.joinable()) {
    // Unblocks sigwait if run() ended on its own: the waiter takes SIGTERM
    // from its own wait (it is blocked everywhere), nothing is terminated.
    pthread_kill(waiter.native_handle(), SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread)
    waiter.join();
  }
  return 0;
}
