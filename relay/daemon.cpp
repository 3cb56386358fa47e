#include "relay/daemon.h"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
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
#include "relay/live_pickup_service.h"
#include "relay/metered_audit_sink.h"
#include "relay/privileges.h"
#include "relay/queue_watcher.h"
#include "relay/reload_check.h"
#include "relay/server/smtp_server.h"
#include "relay/spool/file_spool.h"
#include "relay/spool/spool_key.h"
#include "seal/scrub/scrub_hook.h"
#include "seal/sealing_transformer.h"

namespace sealpost {
namespace {

// After limits.shutdown_grace the deliveries still in flight are cut; this
// is how long their workers then get to notice it and record the deferral.
constexpr std::chrono::seconds kAbortWait{10};

// A filter-only relay (Postfix content filter) has no staff accounts: the
// config loader accepts a missing `users:` then, and so must the daemon.
Result<auth::UserDirectory> load_users(const Config& cfg) {
  if (cfg.users.empty()) return auth::UserDirectory{};
  return auth::UserDirectory::load(cfg.users);
}

// A state dir we create is 0700. One that exists keeps group read/search if
// the admin gave it (the packaged layout is 0750 sealpost:sealpost so the
// portal user can reach pickup/), but never group write or any access for
// others.
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

void apply_logging(const Config& cfg, const DaemonOptions& opts) {
  const auto& level = opts.log_level.empty() ? cfg.log.level : opts.log_level;
  const auto& format = opts.log_format.empty() ? cfg.log.format : opts.log_format;
  log::configure(log::parse_level(level, log::Level::Info),
                 format == "json" ? log::Format::Json : log::Format::Text);
}

// The ids of the spool key files sealpost.yaml names (queue.spool_key and
// queue.spool_old_keys), so that a SIGHUP notices a key file replaced in
// place. (A key from a systemd credential or <state_dir>/spool.key is read
// at start only.)
Result<std::vector<std::string>> named_spool_key_ids(const QueueConfig& q) {
  std::vector<std::string> ids;
  std::vector<std::string> files = q.spool_old_keys;
  if (!q.spool_key.empty()) files.insert(files.begin(), q.spool_key);
  for (const auto& f : files) {
    auto key = spool::read_spool_key_file(f);
    if (!key) return key.error();
    ids.push_back(f + "=" + key->id_hex());
  }
  return ids;
}

// systemd's notify protocol; a no-op without $NOTIFY_SOCKET. RELOADING=1
// carries MONOTONIC_USEC as Type=notify-reload (systemd 253) expects.
void notify_reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

// The pid file lets `sealpost queue flush` reach the running daemon (SIGUSR1).
class PidFile {
 public:
  explicit PidFile(std::filesystem::path path) : path_(std::move(path)) {
    auto r = write_file_durable(path_, std::to_string(::getpid()) + "\n", 0644);
    if (!r) log::warn("daemon.pidfile", {{"path", path_.string()}, {"error", r.error().what()}});
  }
  ~PidFile() { remove(); }
  void remove() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  std::filesystem::path path_;
};

// What is in force (the configuration, the staff accounts), swapped as a
// whole on SIGHUP; read by the closures the sealing step calls per message
// (scrub, pickup notice, signing identity).
template <class T>
class Live {
 public:
  explicit Live(std::shared_ptr<const T> v) : v_(std::move(v)) {}
  std::shared_ptr<const T> get() const {
    std::lock_guard lock(mu_);
    return v_;
  }
  void set(std::shared_ptr<const T> v) {
    std::lock_guard lock(mu_);
    v_ = std::move(v);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> v_;
};
using LiveConfig = Live<Config>;
using LiveUsers = Live<auth::UserDirectory>;

// Everything a SIGHUP needs, loaded and checked before any of it is used.
struct PreparedReload {
  std::shared_ptr<const Config> cfg;
  std::shared_ptr<const auth::UserDirectory> users;
  std::optional<policy::Policy> policy;
  std::unique_ptr<pickup::PickupStore> new_pickup_store;  // portal: added
  std::vector<std::string> needs_restart;
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
    live_cfg_ = std::make_shared<LiveConfig>(cfg_);
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
      log::warn("daemon.root", {{"detail",
                                 "running as root is not recommended; use the systemd unit or "
                                 "--user sealpost"}});
    }

    restrict_state_dir(cfg_->state_dir);

    auto users = load_users(*cfg_);
    if (!users) {
      log::error("users.invalid", {{"error", users.error().what()}});
      return 1;
    }
    users_ = std::make_shared<const auth::UserDirectory>(std::move(users).value());
    live_users_ = std::make_shared<LiveUsers>(users_);

    auto spool = spool::FileSpool::open(cfg_->state_dir, cfg_->queue);
    if (!spool) {
      log::error("spool.open", {{"error", spool.error().what()}});
      return 1;
    }
    (*spool)->set_memory_limit(cfg_->limits.message_memory);
    spill_ = (*spool)->spill_settings();
    spool_ = std::move(spool).value();
    auto key_ids = named_spool_key_ids(cfg_->queue);
    if (!key_ids) {
      log::error("spool.open", {{"error", key_ids.error().what()}});
      return 1;
    }
    spool_key_ids_ = std::move(*key_ids);

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
          arrivals_->accepted(id, unix_now_seconds());
          metrics::relay_metrics().messages_received.inc();
          scheduler_->enqueue(id);
        });
    server_->on_tls_failure([] { metrics::relay_metrics().tls_failures.inc(); });
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
    queue_watcher_ = std::make_unique<QueueWatcher>(*spool_, metrics::relay_metrics());
    queue_watcher_->start();

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
        shutdown();
        return;
      }
      signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    log::info("daemon.ready", {{"config", opts_.config_path},
                               {"listeners", cfg_->listen.size()},
                               {"workers", cfg_->queue.workers}});
    // Only now: every listener is bound and the workers run.
    sd_notify(0, "READY=1\nSTATUS=accepting mail");

    // SMTP sessions are cheap and mostly wait on the network; two loop threads
    // keep one slow TLS handshake from holding up everyone else.
    std::thread second_loop([&] { io.run(); });
    io.run();
    second_loop.join();

    queue_watcher_->stop();
    if (imap_) imap_->stop(stopping_at_ + cfg_->limits.shutdown_grace);
    if (!finish_delivery_stop()) {
      // A worker did not come back even from an aborted connection. Nothing
      // it holds is lost (its message stays queued), but waiting longer only
      // ends in systemd's SIGKILL: leave now, cleanly as far as we can.
      pid.remove();
      log::error("daemon.stopped", {{"detail", "a delivery worker did not stop; exiting anyway"}});
      // _Exit runs no destructors: events recorded with record_later (not
      // yet synced) would be lost with the process, and removals not yet
      // synced would come back after a power loss.
      if (audit_) audit_->sync();
      if (spool_) spool_->sync_removals();
      (void)std::fflush(nullptr);
      std::_Exit(0);
    }
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
    audit_retention_ = settings->retention;
    audit::AuditLogOptions options;
    options.retention = settings->retention;
    auto log = audit::AuditLog::open(audit::relay_audit_dir(cfg_->state_dir), options);
    if (!log) {
      log::error("audit.open", {{"error", log.error().what()}});
      return false;
    }
    audit_log_ = std::move(log).value();
    // Latency is measured from acceptance: to the millisecond for what this
    // process accepted, else from the envelope's arrival second.
    arrivals_ = std::make_unique<AcceptanceTimes>([this](const std::string& id) {
      auto env = spool_->load_envelope(id);
      return env ? std::optional<double>(static_cast<double>(env->arrival)) : std::nullopt;
    });
    audit_ =
        std::make_unique<MeteredAuditSink>(*audit_log_, metrics::relay_metrics(), arrivals_.get());
    return true;
  }

  // keystore + policy (with consent) + scrub + pickup -> the sealing transformer
  // that sits between spool and delivery. Everything a SIGHUP may change is
  // read through live objects (policy, config, pickup service).
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
    policy_ =
        std::make_shared<policy::LivePolicy>(std::move(pol).value(), cfg_->portal.has_value());
    auto consent = policy::open_sqlite_consent_store(policy::state_db_path(cfg_->state_dir), true);
    if (!consent) {
      log::error("consent.open", {{"error", consent.error().what()}});
      return false;
    }
    consent_ = std::shared_ptr<policy::ConsentStore>(std::move(consent).value());

    seal::SealingOptions o;
    o.keystore = keystore_.get();
    o.decide = policy::make_decider(policy_, consent_);
    // Rewritten Message-IDs are an HMAC of the original (threading survives,
    // see docs/scrub.md); the key never leaves the state directory.
    auto id_key = load_or_create_key(
        (std::filesystem::path(cfg_->state_dir) / "private" / "message-id.key").string(), 32);
    if (!id_key) {
      log::error("scrub.message_id_key", {{"error", id_key.error().what()}});
      return false;
    }
    // Profiles come from the live policy and the host name from the live
    // config, so a SIGHUP reload changes both.
    o.scrub = [live = policy_, cfg = live_cfg_, key = std::move(id_key).value(),
               audit = audit_.get()](GMimeMessage* msg, const std::string& profile,
                                     const std::string& queue_id, const std::string& recipients) {
      scrub::ScrubContext ctx{cfg->get()->hostname, key};
      return scrub::make_scrub_hook(live->current()->scrub_profiles, std::move(ctx), *audit)(
          msg, profile, queue_id, recipients);
    };
    if (cfg_->portal) {
      auto store = pickup::PickupStore::open(std::filesystem::path(cfg_->state_dir) / "pickup");
      if (!store) {
        log::error("pickup.open", {{"error", store.error().what()}});
        return false;
      }
      pickup_store_ = std::move(store).value();
    }
    pickup_.configure(
        pickup_store_.get(),
        cfg_->portal ? std::optional<std::string>(cfg_->portal->public_url) : std::nullopt);
    o.pickup = &pickup_;
    // How the patient proves who they are comes from the consent registry.
    // The notice comes from the admin's templates (portal.templates), with
    // the practice name and sender the portal uses too, as configured now.
    o.compose_notice = [cfg = live_cfg_](const PickupRequest& req, const PickupDeposit& dep) {
      const auto ps = portal::settings_from_config(*cfg->get());
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
    o.may_sign_as = [users = live_users_](const std::string& user, const std::string& address) {
      const auto u = users->get();
      return u != nullptr && u->may_send_as(user, address);
    };
    o.audit = audit_.get();
    // Fixed for the process's life: limits.max_message_size waits for a
    // restart (relay/reload_check.h), and so does this MIME limit.
    o.limits.max_size = cfg_->limits.max_message_size;
    o.hostname = cfg_->hostname;  // only for the built-in fallback notice
    o.spill = spill_;
    transformer_ = std::make_unique<seal::SealingTransformer>(std::move(o));
    return true;
  }

  bool start_metrics() {
    auto settings = metrics::load_metrics_settings(opts_.config_path);
    if (!settings) {
      log::error("config.invalid", {{"error", settings.error().what()}});
      return false;
    }
    metrics_listen_ = settings->listen;
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

  // Loads and checks everything a reload would use; nothing running changes.
  // The error says what was wrong (FILE:LINE where the loader knows it).
  Result<PreparedReload> prepare_reload(bool& policy_failed) {
    auto loaded = load_config(opts_.config_path);
    if (!loaded) return loaded.error();
    auto plan = plan_reload(*cfg_, std::move(loaded).value());
    if (!plan) return plan.error();
    PreparedReload r;
    r.needs_restart = std::move(plan->needs_restart);
    auto cfg = std::make_shared<const Config>(std::move(plan->applied));

    auto key_ids = named_spool_key_ids(cfg->queue);
    if (!key_ids) return key_ids.error();
    if (*key_ids != spool_key_ids_)
      return Error::plain(
          "a spool key file named in queue.spool_key or queue.spool_old_keys has new content; "
          "spool keys change only with a restart (rotation: docs/queue.md), so the reload is "
          "refused and the running configuration kept");

    auto users = load_users(*cfg);
    if (!users) return users.error();
    r.users = std::make_shared<const auth::UserDirectory>(std::move(users).value());
    auto pol = policy::load_policy(cfg->policy);
    if (!pol) {
      policy_failed = true;
      return pol.error();
    }
    r.policy = std::move(pol).value();
    // The sections other modules read from the same file.
    auto audit_settings = audit::load_audit_settings(opts_.config_path);
    if (!audit_settings) return audit_settings.error();
    if (audit_settings->retention != audit_retention_) r.needs_restart.emplace_back("audit");
    auto metrics_settings = metrics::load_metrics_settings(opts_.config_path);
    if (!metrics_settings) return metrics_settings.error();
    if (metrics_settings->listen != metrics_listen_) r.needs_restart.emplace_back("metrics.listen");
    if (cfg->portal && !pickup_store_) {  // a portal added: pickups need the store
      auto store = pickup::PickupStore::open(std::filesystem::path(cfg->state_dir) / "pickup");
      if (!store) return store.error();
      r.new_pickup_store = std::move(store).value();
    }
    r.cfg = std::move(cfg);
    return r;
  }

  // SIGHUP (DESIGN §3.2): all of the new configuration, or none of it.
  void reload() {
    notify_reloading();
    bool policy_failed = false;
    auto prepared = prepare_reload(policy_failed);
    std::optional<Error> refused;
    if (!prepared) refused = prepared.error();
    // The listeners' certificates are loaded last: SmtpServer::reload() is
    // itself all-or-nothing, and everything after it cannot fail.
    if (!refused) {
      if (auto s = server_->reload(prepared->cfg, prepared->users); !s) refused = s.error();
    }
    if (refused) {
      log::error(policy_failed ? "reload.policy_refused" : "reload.refused",
                 {{"error", refused->what()}, {"kept", "running configuration, users and policy"}});
      sd_notify(0, "READY=1\nSTATUS=reload refused, running configuration kept");
      return;
    }
    PreparedReload& r = *prepared;
    cfg_ = r.cfg;
    users_ = r.users;
    live_users_->set(users_);
    live_cfg_->set(cfg_);
    if (r.new_pickup_store) pickup_store_ = std::move(r.new_pickup_store);
    pickup_.configure(
        pickup_store_.get(),
        cfg_->portal ? std::optional<std::string>(cfg_->portal->public_url) : std::nullopt);
    policy_->replace(std::move(*r.policy), cfg_->portal.has_value());
    scheduler_->reload(*cfg_);
    if (auto* smtp = dynamic_cast<delivery::SmtpTransport*>(transport_.get()))
      smtp->reconfigure(cfg_->smarthost, cfg_->hostname);
    apply_logging(*cfg_, opts_);
    for (const auto& key : r.needs_restart)
      log::warn("reload.needs_restart",
                {{"key", key}, {"detail", "changed; the running value stays until a restart"}});
    log::info("reload.done", {{"config", opts_.config_path}});
    sd_notify(0, "READY=1\nSTATUS=accepting mail");
  }

  // SIGTERM/SIGINT: stop accepting; SMTP transactions in DATA and deliveries
  // in flight get limits.shutdown_grace to finish (both from now on).
  void shutdown() {
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    stopping_at_ = std::chrono::steady_clock::now();
    log::info("daemon.stopping", {{"grace_seconds", cfg_->limits.shutdown_grace.count()}});
    server_->stop_accepting();
    // Idle sessions are told 421 and closed at once, a session inside DATA
    // may finish. The io_context returns once the last session is gone.
    server_->shutdown(cfg_->limits.shutdown_grace);
    if (imap_) imap_->request_stop();  // joined, within the same grace, after the io loop
    // Nothing new starts; stop() returns once the attempts in flight ended.
    delivery_stopped_ = std::async(std::launch::async, [this] { scheduler_->stop(); });
  }

  // After the grace period, cuts the smarthost connections still open (their
  // messages stay queued: at-least-once) and waits briefly for the workers.
  // False if a worker still did not return.
  bool finish_delivery_stop() {
    using std::future_status;
    if (!delivery_stopped_.valid()) {  // io stopped without a signal: should not happen
      scheduler_->stop();
      return true;
    }
    if (delivery_stopped_.wait_until(stopping_at_ + cfg_->limits.shutdown_grace) ==
        future_status::ready)
      return true;
    log::warn("delivery.aborted",
              {{"detail",
                "deliveries still in flight after limits.shutdown_grace: their smarthost "
                "connections are cut, the messages stay queued and are sent after the restart"}});
    if (auto* smtp = dynamic_cast<delivery::SmtpTransport*>(transport_.get()))
      smtp->abort_in_flight();
    return delivery_stopped_.wait_for(kAbortWait) == future_status::ready;
  }

  DaemonOptions opts_;
  // Declared first so it is destroyed last: the server and its sessions
  // hold references into it.
  boost::asio::io_context io_;
  std::shared_ptr<const Config> cfg_;
  std::shared_ptr<LiveConfig> live_cfg_;
  std::shared_ptr<LiveUsers> live_users_;
  std::shared_ptr<const auth::UserDirectory> users_;
  std::unique_ptr<Spool> spool_;
  SpillSettings spill_;  // where big messages go while they are sealed
  std::vector<std::string> spool_key_ids_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::optional<std::chrono::days> audit_retention_;
  std::optional<std::string> metrics_listen_;
  std::unique_ptr<AcceptanceTimes> arrivals_;
  std::unique_ptr<AuditSink> audit_;
  std::unique_ptr<keystore::Keystore> keystore_;
  std::shared_ptr<policy::LivePolicy> policy_;
  std::shared_ptr<policy::ConsentStore> consent_;
  std::unique_ptr<pickup::PickupStore> pickup_store_;
  LivePickupService pickup_;
  std::unique_ptr<metrics::HttpServer> metrics_http_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<DeliveryScheduler> scheduler_;
  std::unique_ptr<QueueWatcher> queue_watcher_;
  std::unique_ptr<imap::ImapService> imap_;
  std::unique_ptr<server::SmtpServer> server_;
  std::chrono::steady_clock::time_point stopping_at_;
  std::future<void> delivery_stopped_;
};

}  // namespace

int run_daemon(const DaemonOptions& opts) {
  // A peer closing mid-write must not kill the daemon.
  (void)std::signal(SIGPIPE, SIG_IGN);
  Daemon d(opts);
  return d.run();
}

}  // namespace sealpost
