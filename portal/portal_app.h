// The portal's request handling, independent of sockets: an HttpRequest in,
// an HttpResponse out. Owns sessions, CSRF checks, rate limits, the second
// factor flow, reading, downloads and replies, and reports every access to the
// AuditSink (ids and outcomes only, never content).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit_sink.h"
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
  // Largest body accepted for this method and target (the server enforces it
  // before reading the body).
  std::size_t body_limit(std::string_view method, std::string_view target) const;

  static constexpr const char* kCookie = "sp_session";

 private:
  struct Ctx;
  HttpResponse on_link(Ctx& c, const std::string& id, const std::string& secret);
  HttpResponse on_auth(Ctx& c, std::string error_key = {}, int attempts_left = -1);
  HttpResponse on_send_code(Ctx& c);
  HttpResponse on_verify(Ctx& c);
  HttpResponse on_read(Ctx& c);
  HttpResponse on_attachment(Ctx& c, std::size_t index);
  HttpResponse on_reply(Ctx& c);
  HttpResponse on_logout(Ctx& c);

  HttpResponse page(Ctx& c, int status, std::string body);
  HttpResponse notice(Ctx& c, int status, const char* title_key, const char* body_key);
  HttpResponse redirect(const std::string& location);
  bool csrf_ok(Ctx& c, const std::string& token);
  // Re-checks the pickup on every request: revocation, expiry and locks apply at once.
  bool unlock_session(Ctx& c, pickup::Unlocked& out, HttpResponse& fail);
  void audit(const char* type, Ctx& c,
             std::initializer_list<std::pair<const char*, std::string>> extra = {});
  void notify_locked(const pickup::PickupRecord& r);
  std::int64_t now() const;

  PortalSettings s_;
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
};

}  // namespace sealpost::portal
