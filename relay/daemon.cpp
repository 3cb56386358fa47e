#include "relay/daemon.h"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/audit_settings.h"
#include "common/durable_file.h"
#include "common/key_file.h"
#include "common/log.h"
#include "config/config.h"
#include "imap/imap_service.h"
#include "keystore/keystore.h"
#include "metrics/http_server.h"
#include "metrics/metrics_settings.h"
#include "metrics/relay_metrics.h"
#include "policy/consent_store.h"
#include "policy/live_policy.h"
#include "portal/notice.h"
#include "portal/pickup_store.h"
#include "portal/portal_settings.h"
#include "relay/auth/user_directory.h"
#include "relay/delivery/delivery_scheduler.h"
#include "relay/delivery/smtp_transport.h"
#include "relay/metered_audit_sink.h"
#include "relay/privileges.h"
#include "relay/server/smtp_server.h"
#include "relay/spool/file_spool.h"
#include "seal/scrub/scrub_hook.h"
#include "seal/sealing_transformer.h"

namespace sealpost {
namespace {

// A state dir we create is 0700. One that exists keeps group read/search if
// the admin gave it (the packaged layout is 0750 sealpost:sealpost so the
// portal user can reach pickup/), but never group write or any access for
// others.
// A filter-only relay (Postfix content filter) has no staff accounts: the
// config loader accepts a missing `users:` then, and so must the daemon.
Result<auth::UserDirectory> load_users(const Config& cfg) {
  if (cfg.users.empty()) return auth::UserDirectory{};
  return auth::UserDirectory::load(cfg.users);
}

void restrict_state_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    ::chmod(dir.c_str(), 0700);
    return;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0027) != 0)
    ::chmod(dir.c_str(), (st.st_mode & 07777 & ~0027) | 0700);
}

}  // namespace

namespace {

void apply_logging(const Config& cfg, const DaemonOptions& opts) {
  const auto& level = opts.log_level.empty() ? cfg.log.level : opts.log_level;
  const auto& format = opts.log_format.empty() ? cfg.log.format : opts.log_format;
  log::configure(log::parse_level(level, log::Level::Info),
                 format == "json" ? log::Format::Json : log::Format::Text);
}

// The pid file lets `sealpost queue flush` reach the running daemon (SIGUSR1).
class PidFile {
 public:
  explicit PidFile(std::filesystem::path path) : path_(std::move(path)) {
    auto r = write_file_durable(path_, std::to_string(::getpid()) + "\n", 0644);
    if (!r) log::warn("daemon.pidfile", {{"path", path_.string()}, {"error", r.error().what()}});
  }
  ~PidFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  std::filesystem::path path_;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions opts) : opts_(std::move(opts)) {}

  int run() {
    auto cfg = load_config(opts_.config_path);
    if (!cfg) {
      log::error("config.invalid", {{"error", cfg.error().what()}});
      return 1;
    }
    cfg_ = std::make_shared<const Config>(std::move(cfg).value());
    apply_logging(*cfg_, opts_);

    if (!opts_.user.empty()) {
      if (::geteuid() != 0) {
        log::error("daemon.user", {{"error", "--user needs to be started as root"}});
        return 1;
      }
      if (auto r = become_user(opts_.user, cfg_->state_dir); !r) {
        log::error("daemon.user", {{"error", r.error().what()}});
        return 1;
      }
      log::info("daemon.user", {{"user", opts_.user}});
    } else if (::geteuid() == 0) {
      log::warn("daemon.root",
                {{"detail", "running as root is not recommended; use the systemd unit or --user sealpost"}});
    }

    restrict_state_dir(cfg_->state_dir);

    auto users = load_users(*cfg_);
    if (!users) {
      log::error("users.invalid", {{"error", users.error().what()}});
      return 1;
    }
    users_ = std::make_shared<const auth::UserDirectory>(std::move(users).value());

    auto spool = spool::FileSpool::open(cfg_->state_dir, cfg_->queue);
    if (!spool) {
      log::error("spool.open", {{"error", spool.error().what()}});
      return 1;
    }
    spool_ = std::move(spool).value();

    if (!open_audit() || !open_sealing()) return 1;

    if (cfg_->smarthost.tls == TlsMode::None)
      log::warn("smarthost.insecure",
                {{"detail", "outbound TLS is disabled (smarthost.tls: none); for tests only"}});
    transport_ = make_smtp_transport(cfg_->smarthost, cfg_->hostname);
    scheduler_ =
        std::make_unique<DeliveryScheduler>(*cfg_, *spool_, *transformer_, *transport_, *audit_);
    if (!start_metrics()) return 1;

    boost::asio::io_context& io = io_;
    server_ = std::make_unique<server::SmtpServer>(
        io, cfg_, *spool_, users_, [this](const std::string& id) {
          metrics::relay_metrics().messages_received.inc();
          scheduler_->enqueue(id);
        });
    if (auto r = server_->start(); !r) {
      log::error("listen.failed", {{"error", r.error().what()}});
      return 1;
    }
    // Bound: not even CAP_NET_BIND_SERVICE is needed any more, whether it
    // came from --user or from the systemd unit (AmbientCapabilities=).
    // (Listener changes need a restart anyway.) Root without --user keeps
    // root's powers: warned about above.
    if (auto r = drop_all_capabilities(); !r) {
      log::error("daemon.capabilities", {{"error", r.error().what()}});
      return 1;
    }
    PidFile pid(std::filesystem::path(cfg_->state_dir) / "sealpostd.pid");
    scheduler_->start();
    if (!cfg_->imap.empty()) {  // decrypts staff's incoming mail; the relay serves without it
      imap_ = std::make_unique<imap::ImapService>(*cfg_, *keystore_, *audit_);
      if (auto r = imap_->start(); !r) log::error("imap.start", {{"error", r.error().what()}});
    }

    boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    signals.add(SIGUSR1);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& err, int sig) {
      if (err) return;
      if (sig == SIGHUP) {
        reload();
      } else if (sig == SIGUSR1) {
        log::info("queue.flush", {{"source", "signal"}});
        scheduler_->flush();
      } else {
        shutdown(io);
        return;
      }
      signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    queue_timer_ = std::make_unique<boost::asio::steady_timer>(io);
    watch_queue();

    log::info("daemon.ready", {{"config", opts_.config_path},
                               {"listeners", cfg_->listen.size()},
                               {"workers", cfg_->queue.workers}});
    sd_notify(0, "READY=1");

    // SMTP sessions are cheap and mostly wait on the network; two loop threads
    // keep one slow TLS handshake from holding up everyone else.
    std::thread second_loop([&] { io.run(); });
    io.run();
    second_loop.join();

    if (imap_) imap_->stop();
    scheduler_->stop();
    queue_timer_.reset();
    server_.reset();
    log::info("daemon.stopped", {});
    return 0;
  }

 private:
  // The audit log is how the practice proves what was sent how: no audit, no mail.
  bool open_audit() {
    auto settings = audit::load_audit_settings(opts_.config_path);
    if (!settings) {
      log::error("config.invalid", {{"error", settings.error().what()}});
      return false;
    }
    audit::AuditLogOptions options;
    options.retention = settings->retention;
    auto log = audit::AuditLog::open(audit::relay_audit_dir(cfg_->state_dir), options);
    if (!log) {
      log::error("audit.open", {{"error", log.error().what()}});
      return false;
    }
    audit_log_ = std::move(log).value();
    audit_ = std::make_unique<MeteredAuditSink>(*audit_log_, metrics::relay_metrics());
    return true;
  }

  // keystore + policy (with consent) + scrub + pickup -> the sealing transformer
  // that sits between spool and delivery.
  bool open_sealing() {
    auto ks = keystore::Keystore::open(*cfg_);
    if (!ks) {
      log::error("keystore.open", {{"error", ks.error().what()}});
      return false;
    }
    keystore_ = std::move(ks).value();
    auto pol = policy::load_policy(cfg_->policy);
    if (!pol) {
      log::error("policy.invalid", {{"error", pol.error().what()}});
      return false;
    }
    policy_ = std::make_shared<policy::LivePolicy>(std::move(pol).value());
    auto consent = policy::open_sqlite_consent_store(policy::state_db_path(cfg_->state_dir), true);
    if (!consent) {
      log::error("consent.open", {{"error", consent.error().what()}});
      return false;
    }
    consent_ = std::shared_ptr<policy::ConsentStore>(std::move(consent).value());

    seal::SealingOptions o;
    o.keystore = keystore_.get();
    o.decide = policy::make_decider(policy_, consent_, cfg_->portal.has_value());
    // Rewritten Message-IDs are an HMAC of the original (threading survives,
    // see docs/scrub.md); the key never leaves the state directory.
    auto id_key = load_or_create_key(
        (std::filesystem::path(cfg_->state_dir) / "private" / "message-id.key").string(), 32);
    if (!id_key) {
      log::error("scrub.message_id_key", {{"error", id_key.error().what()}});
      return false;
    }
    scrub::ScrubContext scrub_ctx{cfg_->hostname, std::move(id_key).value()};
    // Profiles come from the live policy, so a SIGHUP reload changes them too.
    o.scrub = [live = policy_, ctx = std::move(scrub_ctx), audit = audit_.get()](
                  GMimeMessage* msg, const std::string& profile, const std::string& queue_id,
                  const std::string& recipients) {
      return scrub::make_scrub_hook(live->current()->scrub_profiles, ctx, *audit)(
          msg, profile, queue_id, recipients);
    };
    if (cfg_->portal) {
      auto store = pickup::PickupStore::open(std::filesystem::path(cfg_->state_dir) / "pickup");
      if (!store) {
        log::error("pickup.open", {{"error", store.error().what()}});
        return false;
      }
      pickup_store_ = std::move(store).value();
      pickup_ =
          std::make_unique<pickup::StorePickupService>(*pickup_store_, cfg_->portal->public_url);
      o.pickup = pickup_.get();
      // How the patient proves who they are comes from the consent registry.
      // The notice comes from the admin's templates (portal.templates), with
      // the practice name and sender the portal uses too.
      const auto ps = portal::settings_from_config(*cfg_);
      o.compose_notice = [ps](const PickupRequest& req, const PickupDeposit& dep) {
        pickup::NoticeParams n;
        n.from_address = ps.mail_from;
        n.to_address = req.recipient;
        n.practice_name = ps.practice_name;
        n.link = dep.url;
        n.expires_at = dep.expires_at;
        n.auth_method = req.auth_method;
        n.templates_dir = ps.templates_dir;
        return pickup::compose_notice(n);
      };
      o.complete_pickup = [consent = consent_](PickupRequest& req) {
        auto rec = consent->get(req.recipient);
        if (!rec || !rec->has_value()) return;
        if (req.sms_number.empty()) req.sms_number = (*rec)->sms_number;
        req.passphrase_hash = (*rec)->passphrase_hash;
      };
    }
    o.audit = audit_.get();
    o.limits.max_size = cfg_->limits.max_message_size;
    o.hostname = cfg_->hostname;
    transformer_ = std::make_unique<seal::SealingTransformer>(std::move(o));
    return true;
  }

  bool start_metrics() {
    auto settings = metrics::load_metrics_settings(opts_.config_path);
    if (!settings) {
      log::error("config.invalid", {{"error", settings.error().what()}});
      return false;
    }
    if (!settings->listen) return true;
    auto server = metrics::HttpServer::start(*settings->listen, metrics::default_registry(),
                                             [this] { return audit_log_->healthy(); });
    if (!server) {
      log::error("metrics.listen", {{"error", server.error().what()}});
      return false;
    }
    metrics_http_ = std::move(server).value();
    log::info("metrics.ready", {{"listen", *settings->listen}});
    return true;
  }

  // Queue size and age for the metrics, sampled from the spool every 15 s.
  void watch_queue() {
    metrics::relay_metrics().queue_size.set(static_cast<double>(spool_->list().size()));
    queue_timer_->expires_after(std::chrono::seconds(15));
    queue_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopping_) watch_queue();
    });
  }

  void reload() {
    sd_notify(0, "RELOADING=1");
    auto cfg = load_config(opts_.config_path);
    if (!cfg) {
      log::error("reload.refused", {{"error", cfg.error().what()}, {"kept", "previous config"}});
      sd_notify(0, "READY=1");
      return;
    }
    auto users = load_users(*cfg);
    if (!users) {
      log::error("reload.refused", {{"error", users.error().what()}, {"kept", "previous config"}});
      sd_notify(0, "READY=1");
      return;
    }
    cfg_ = std::make_shared<const Config>(std::move(cfg).value());
    users_ = std::make_shared<const auth::UserDirectory>(std::move(users).value());
    apply_logging(*cfg_, opts_);
    // A broken policy is refused; mail keeps flowing under the old one.
    if (auto r = policy_->reload(cfg_->policy); !r)
      log::error("reload.policy_refused",
                 {{"error", r.error().what()}, {"kept", "previous policy"}});
    server_->reload(cfg_, users_);
    scheduler_->reload(*cfg_);
    if (auto* smtp = dynamic_cast<delivery::SmtpTransport*>(transport_.get()))
      smtp->reconfigure(cfg_->smarthost, cfg_->hostname);
    log::info("reload.done", {{"config", opts_.config_path}});
    sd_notify(0, "READY=1");
  }

  void shutdown(boost::asio::io_context& io) {
    sd_notify(0, "STOPPING=1");
    stopping_ = true;
    queue_timer_->cancel();
    log::info("daemon.stopping", {});
    server_->stop_accepting();
    // In-flight DATA may finish; idle sessions are told 421 and closed. The
    // io_context returns once the last session is gone.
    server_->shutdown(std::chrono::seconds(10));
    (void)io;
  }

  DaemonOptions opts_;
  // Declared first so it is destroyed last: the server, its sessions and the
  // queue timer all hold references into it.
  boost::asio::io_context io_;
  std::shared_ptr<const Config> cfg_;
  std::shared_ptr<const auth::UserDirectory> users_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::unique_ptr<AuditSink> audit_;
  std::unique_ptr<keystore::Keystore> keystore_;
  std::shared_ptr<policy::LivePolicy> policy_;
  std::shared_ptr<policy::ConsentStore> consent_;
  std::unique_ptr<pickup::PickupStore> pickup_store_;
  std::unique_ptr<PickupService> pickup_;
  std::unique_ptr<metrics::HttpServer> metrics_http_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<boost::asio::steady_timer> queue_timer_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<DeliveryScheduler> scheduler_;
  std::unique_ptr<imap::ImapService> imap_;
  std::unique_ptr<server::SmtpServer> server_;
};

}  // namespace

int run_daemon(const DaemonOptions& opts) {
  // A peer closing mid-write must not kill the daemon.
  (void)std::signal(SIGPIPE, SIG_IGN);
  Daemon d(opts);
  return d.run();
}

}  // namespace sealpost
