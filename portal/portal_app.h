// The portal's request handling, independent of sockets: an HttpRequest in,
// an HttpResponse out. Owns sessions, CSRF checks, rate limits, the second
// factor flow, reading, downloads and replies, and reports every access to the
// AuditSink (ids and outcomes only, never content).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit_sink.h"
#include "portal/audit_throttle.h"
#include "portal/pickup_store.h"
#include "portal/portal_settings.h"
#include "portal/second_factor.h"
#include "portal/session_table.h"

namespace sealpost::portal {

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string target;
  std::string peer;  // socket peer address
  std::string cookie;
  std::string content_type;
  std::string accept_language;
  std::string forwarded_for;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the security set
  std::string body;
};

// How mail leaves the portal (replies, staff notices); tests can capture it.
using MailSender = std::function<Result<void>(const std::string& mail_from, const std::string& rcpt,
                                              const std::string& message)>;
// How an SMS code leaves the portal.
using SmsSender = std::function<Result<void>(const std::string& number, const std::string& text)>;

class PortalApp {
 public:
  PortalApp(PortalSettings settings, pickup::PickupStore& store, AuditSink& audit, MailSender mail,
            SmsSender sms);

  HttpResponse handle(const HttpRequest& req);

  // What the server may read of a request body, decided from the request line
  // and the cookie before any body byte is read: the large reply limit only
  // for a live, authenticated session, one such upload per session and
  // kMaxUploads at once (each may hold max_reply_bytes in memory).
  struct BodyPermit {
    std::size_t limit = 0;
    bool busy = false;             // no upload slot free: answer 503 without reading
    std::shared_ptr<void> ticket;  // holds the upload slot until released
  };
  BodyPermit body_permit(std::string_view method, std::string_view target,
                         std::string_view cookie_header);
  // Requests whose handling can block for seconds (SMS command, SMTP submit,
  // argon2id): the server runs them on its worker pool, not its I/O threads.
  static bool blocking(std::string_view method, std::string_view target);
  // The client as the rate limits see it (X-Forwarded-For from trusted proxies).
  std::string client_of(const HttpRequest& req) const;
  // The page for a request the server could not schedule (worker pool full).
  HttpResponse busy(const HttpRequest& req);
  // Audits a request the server refused before it reached handle() (413,
  // 431, 503 for a busy upload slot); `req` has no body.
  void rejected(const HttpRequest& req, int status, const char* reason);
  static constexpr std::size_t kMaxUploads = 8;
  // Writes the "portal.audit_suppressed" summaries still owed (the purge
  // timer and shutdown call it), so a flood that stopped is still counted.
  void flush_audit_throttle();

  // The session cookie's name: "__Host-sp_session" when patients reach the
  // portal over HTTPS (public_url https://), so no sibling host or plain-HTTP
  // page can set or shadow it; plain "sp_session" for the http:// loopback
  // demo, where browsers do not accept the prefix.
  const std::string& cookie_name() const { return cookie_name_; }

 private:
  struct Ctx;
  HttpResponse on_link(Ctx& c, const std::string& id, const std::string& secret);
  HttpResponse on_auth(Ctx& c, std::string error_key = {}, int attempts_left = -1);
  HttpResponse on_send_code(Ctx& c);
  HttpResponse on_verify(Ctx& c);
  HttpResponse on_auth_password(Ctx& c);
  HttpResponse on_set_password(Ctx& c);
  // The answer to a checked code, passphrase or portal password.
  HttpResponse after_check(Ctx& c, const pickup::Unlocked& u, const Result<pickup::Check>& check,
                           const std::string& method);
  HttpResponse on_read(Ctx& c);
  HttpResponse on_attachment(Ctx& c, std::size_t index);
  HttpResponse on_reply(Ctx& c);
  HttpResponse on_logout(Ctx& c);
  Ctx context(const HttpRequest& req);
  void finish(Ctx& c, HttpResponse& r);

  HttpResponse page(Ctx& c, int status, std::string body);
  HttpResponse notice(Ctx& c, int status, const char* title_key, const char* body_key);
  HttpResponse redirect(const std::string& location);
  // Audited answers for the failure paths (every access is an audit event).
  HttpResponse failure(Ctx& c, const char* stage);       // 503
  HttpResponse csrf_rejected(Ctx& c, const char* path);  // 403
  HttpResponse rate_limited(Ctx& c, const char* what);   // 429
  bool csrf_ok(Ctx& c, const std::string& token);
  // Re-checks the pickup on every request: revocation, expiry and locks apply at once.
  bool unlock_session(Ctx& c, pickup::Unlocked& out, HttpResponse& fail);
  void audit(const char* type, Ctx& c,
             std::initializer_list<std::pair<const char*, std::string>> extra = {});
  // For events anyone can cause without a session: through anon_audit_.
  void audit_anonymous(const char* type, Ctx& c,
                       std::initializer_list<std::pair<const char*, std::string>> extra = {});
  void notify_locked(const pickup::PickupRecord& r);
  // First successful authentication: records it, sends the pickup receipt.
  void picked_up(Ctx& c, const pickup::PickupRecord& r);
  std::int64_t now() const;

  std::string session_cookie(const std::string& token) const;
  std::string expired_cookie() const;

  PortalSettings s_;
  std::string cookie_name_;
  pickup::PickupStore& store_;
  AuditSink& audit_;
  MailSender mail_;
  SmsSender sms_;
  pickup::SecondFactor factor_;
  SessionTable sessions_;
  ClientLimiter limiter_;
  // Code requests per pickup: an SMS costs money and a patient's phone must
  // not be flooded by whoever holds (or guessed into) a session.
  SlidingWindow codes_per_pickup_{kCodesPerPickupPerHour, std::chrono::hours(1), 100000};
  static constexpr unsigned kCodesPerPickupPerHour = 5;
  // 20 at once, then one per 30 s (120 an hour) per client for events
  // without a session; the rest is counted (portal.audit_suppressed).
  AuditThrottle anon_audit_{20, std::chrono::seconds(30)};
  std::mutex uploads_mu_;
  std::set<std::string> uploading_;  // session tokens with a large body in flight
};

}  // namespace sealpost::portal
