#include "portal/portal_app.h"

#include <chrono>

#include "common/log.h"
#include "common/secure_random.h"
#include "portal/http_parsing.h"
#include "portal/message_view.h"
#include "portal/pages.h"
#include "portal/pickup_receipt.h"
#include "portal/reply_mail.h"

namespace sealpost::portal {

using pickup::LinkStatus;
using pickup::Verdict;

struct PortalApp::Ctx {
  const HttpRequest& req;
  std::string lang;
  std::string client;
  std::string token;               // session cookie, if any
  std::optional<Session> session;  // live session for `token`
  std::string pickup_id;           // for audit, when known
  std::string recipient;           // for audit, once the link has checked out
};

namespace {

constexpr std::size_t kSmallForm = std::size_t{16} * 1024;
constexpr std::size_t kMaxReplyText = 100000;

void security_headers(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self'; style-src 'self'; "
                         "script-src 'none'; object-src 'none'; base-uri 'none'; "
                         "form-action 'self'; frame-ancestors 'none'");
  // No includeSubDomains: it would bind names below the portal's host that
  // this service does not serve (docs/portal.md, "HSTS").
  r.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  r.headers.emplace_back("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

}  // namespace

PortalApp::PortalApp(PortalSettings settings, pickup::PickupStore& store, AuditSink& audit,
                     MailSender mail, SmsSender sms)
    : s_(std::move(settings)),
      cookie_name_(s_.public_url.rfind("https://", 0) == 0 ? "__Host-sp_session" : "sp_session"),
      store_(store),
      audit_(audit),
      mail_(std::move(mail)),
      sms_(std::move(sms)),
      factor_(store.index(), pickup::FactorSettings{s_.max_attempts, s_.code_ttl, 8}),
      sessions_(s_.session_idle, 10000),
      limiter_(s_.client_failures_per_hour) {}

std::string PortalApp::session_cookie(const std::string& token) const {
  // __Host- requires exactly this: Secure, Path=/ and no Domain attribute.
  return cookie_name_ + "=" + token + "; Path=/; Secure; HttpOnly; SameSite=Strict";
}

std::string PortalApp::expired_cookie() const {
  return cookie_name_ + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict";
}

std::int64_t PortalApp::now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PortalApp::rejected(const HttpRequest& req, int status, const char* reason) {
  Ctx c = context(req);
  audit_anonymous("portal.rejected", c, {{"status", std::to_string(status)}, {"reason", reason}});
}

PortalApp::BodyPermit PortalApp::body_permit(std::string_view method, std::string_view target,
                                             std::string_view cookie_header) {
  BodyPermit p;
  if (method != "POST") return p;
  p.limit = kSmallForm;
  if (route(target).kind != RouteKind::Reply) return p;
  // Unauthenticated posts to /reply get the small limit (and then a 403):
  // 20 MiB of memory is only for someone who passed the second factor.
  auto tok = cookie_value(cookie_header, cookie_name_);
  if (!tok || tok->size() > 64) return p;
  auto session = sessions_.get(*tok);
  if (!session || !session->authenticated) return p;
  std::lock_guard lock(uploads_mu_);
  if (uploading_.size() >= kMaxUploads || uploading_.count(*tok)) {
    p.busy = true;
    return p;
  }
  uploading_.insert(*tok);
  p.limit = s_.max_reply_bytes;
  p.ticket = std::shared_ptr<void>(nullptr, [this, token = *tok](void*) {
    std::lock_guard release(uploads_mu_);
    uploading_.erase(token);
  });
  return p;
}

bool PortalApp::blocking(std::string_view method, std::string_view target) {
  if (method != "POST") return false;
  const RouteKind k = route(target).kind;
  return k == RouteKind::SendCode || k == RouteKind::Verify || k == RouteKind::Reply ||
         k == RouteKind::AuthPassword || k == RouteKind::SetPassword;  // argon2id
}

std::string PortalApp::client_of(const HttpRequest& req) const {
  return client_address(req.peer, req.forwarded_for, s_.trusted_proxies);
}

HttpResponse PortalApp::busy(const HttpRequest& req) {
  Ctx c = context(req);
  audit_anonymous("portal.busy", c, {{"status", "503"}});
  HttpResponse r = notice(c, 503, "busy.title", "busy.body");
  r.headers.emplace_back("Retry-After", "30");
  finish(c, r);
  return r;
}

void PortalApp::audit(const char* type, Ctx& c,
                      std::initializer_list<std::pair<const char*, std::string>> extra) {
  AuditEvent e;
  e.type = type;
  if (!c.pickup_id.empty()) e.fields.emplace_back("pickup_id", c.pickup_id);
  if (!c.recipient.empty()) e.fields.emplace_back("recipient", c.recipient);
  e.fields.emplace_back("client", c.client);
  for (const auto& [k, v] : extra) e.fields.emplace_back(k, v);
  audit_.record(e);
}

void PortalApp::audit_anonymous(const char* type, Ctx& c,
                                std::initializer_list<std::pair<const char*, std::string>> extra) {
  if (c.session) {
    audit(type, c, extra);
    return;
  }
  const auto a = anon_audit_.admit(c.client, type);
  if (a.suppressed > 0)
    audit("portal.audit_suppressed", c,
          {{"suppressed", std::to_string(a.suppressed)}, {"bucket", a.key}});
  if (a.write) audit(type, c, extra);
}

void PortalApp::flush_audit_throttle() {
  for (const auto& p : anon_audit_.flush()) {
    AuditEvent e;
    e.type = "portal.audit_suppressed";
    const auto space = p.key.find(' ');
    e.fields = {{"client", p.key.substr(0, space)},
                {"suppressed", std::to_string(p.suppressed)},
                {"bucket", p.key}};
    audit_.record(e);
  }
}

HttpResponse PortalApp::page(Ctx&, int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse PortalApp::notice(Ctx& c, int status, const char* title_key, const char* body_key) {
  return page(c, status, render_notice(c.lang, title_key, body_key));
}

HttpResponse PortalApp::failure(Ctx& c, const char* stage) {
  audit("pickup.error", c, {{"stage", stage}, {"status", "503"}});
  return notice(c, 503, "error.title", "error.body");
}

HttpResponse PortalApp::csrf_rejected(Ctx& c, const char* path) {
  audit("pickup.csrf_rejected", c, {{"path", path}});
  return notice(c, 403, "session.title", "session.body");
}

HttpResponse PortalApp::rate_limited(Ctx& c, const char* what) {
  audit_anonymous("pickup.rate_limited", c, {{"limit", what}});
  return notice(c, 429, "slow.title", "slow.body");
}

HttpResponse PortalApp::redirect(const std::string& location) {
  HttpResponse r;
  r.status = 303;
  r.headers.emplace_back("Location", location);
  return r;
}

bool PortalApp::csrf_ok(Ctx& c, const std::string& token) {
  return c.session && !token.empty() && constant_time_equal(token, c.session->csrf);
}

PortalApp::Ctx PortalApp::context(const HttpRequest& req) {
  Ctx c{req, choose_language(req.accept_language), client_of(req), {}, {}, {}, {}};
  if (auto tok = cookie_value(req.cookie, cookie_name_); tok && tok->size() <= 64) {
    c.token = *tok;
    c.session = sessions_.get(c.token);
    if (c.session) c.pickup_id = c.session->pickup_id;
  }
  return c;
}

void PortalApp::finish(Ctx& c, HttpResponse& r) {
  r.headers.emplace_back("Content-Language", c.lang);
  r.headers.emplace_back("Vary", "Accept-Language, Cookie");
  security_headers(r);
}

HttpResponse PortalApp::handle(const HttpRequest& req) {
  Ctx c = context(req);
  const Route rt = route(req.target);
  const bool get = req.method == "GET";  // no HEAD: a body-less reply is not worth the framing risk
  const bool post = req.method == "POST";
  HttpResponse r;
  if (rt.kind == RouteKind::Stylesheet && get) {
    r.content_type = "text/css; charset=utf-8";
    r.body = stylesheet();
  } else if (rt.kind == RouteKind::Link && get) {
    r = on_link(c, rt.pickup_id, rt.secret);
  } else if (rt.kind == RouteKind::NotFound) {
    r = notice(c, 404, "notfound.title", "notfound.body");
  } else if (!c.session) {
    // Everything else belongs to a session; without one there is nothing to show.
    audit_anonymous("pickup.no_session", c,
                    {{"path_kind", std::to_string(static_cast<int>(rt.kind))}});
    r = notice(c, 403, "session.title", "session.body");
  } else if (rt.kind == RouteKind::Auth && get) {
    r = on_auth(c);
  } else if (rt.kind == RouteKind::SendCode && post) {
    r = on_send_code(c);
  } else if (rt.kind == RouteKind::Verify && post) {
    r = on_verify(c);
  } else if (rt.kind == RouteKind::AuthPassword && post) {
    r = on_auth_password(c);
  } else if (rt.kind == RouteKind::SetPassword && (get || post)) {
    r = on_set_password(c);
  } else if (rt.kind == RouteKind::Read && get) {
    r = on_read(c);
  } else if (rt.kind == RouteKind::Attachment && get) {
    r = on_attachment(c, rt.index);
  } else if (rt.kind == RouteKind::Reply && (get || post)) {
    r = on_reply(c);
  } else if (rt.kind == RouteKind::Done && get) {
    r = page(c, 200, render_done(c.lang));
  } else if (rt.kind == RouteKind::Logout && post) {
    r = on_logout(c);
  } else {
    audit("pickup.bad_method", c, {{"method", req.method.substr(0, 16)}});
    r = notice(c, 405, "notfound.title", "notfound.body");
    r.headers.emplace_back("Allow", "GET, POST");
  }
  finish(c, r);
  return r;
}

HttpResponse PortalApp::on_link(Ctx& c, const std::string& id, const std::string& secret_text) {
  if (limiter_.blocked(c.client)) return rate_limited(c, "client");
  auto secret = pickup::decode_link_secret(secret_text);
  Result<pickup::Unlocked> u = pickup::Unlocked{};
  if (secret) u = store_.unlock(id, *secret, now());
  if (!u) {
    log::error("portal.store", {{"reason", u.error().what()}});
    return failure(c, "link");
  }
  switch (u->status) {
    case LinkStatus::Invalid:
      limiter_.failure(c.client);
      audit_anonymous("pickup.link_invalid", c);  // the id is not echoed: it may be a guess
      return notice(c, 404, "invalid.title", "invalid.body");
    case LinkStatus::Gone:
      c.pickup_id = id;
      c.recipient = u->record.recipient;
      audit("pickup.link_gone", c);
      return notice(c, 410, "gone.title", "gone.body");
    case LinkStatus::Locked:
      c.pickup_id = id;
      c.recipient = u->record.recipient;
      audit("pickup.link_locked", c);
      return notice(c, 423, "locked.title", "locked.body");
    case LinkStatus::Ok:
      break;
  }
  c.pickup_id = id;
  c.recipient = u->record.recipient;
  if (!c.token.empty()) sessions_.erase(c.token);  // a new link always starts a new session
  const std::string token = sessions_.create(id, std::move(*secret));
  audit("pickup.opened", c);
  // The link is clicked in webmail, another site: a redirect from here would
  // still count as that cross-site navigation and the SameSite=Strict cookie
  // would not reach /auth. This page moves on by itself (same-site, so the
  // cookie goes along); the meta refresh also replaces the history entry, so
  // the secret leaves the address bar and history.
  HttpResponse r = page(c, 200, render_continue(c.lang, "/auth"));
  r.headers.emplace_back("Set-Cookie", session_cookie(token));
  return r;
}

bool PortalApp::unlock_session(Ctx& c, pickup::Unlocked& out, HttpResponse& fail) {
  auto u = store_.unlock(c.session->pickup_id, c.session->secret, now());
  if (!u) {
    log::error("portal.store", {{"reason", u.error().what()}});
    fail = failure(c, "unlock");
    return false;
  }
  if (u->status != LinkStatus::Ok) {
    // Revoked, expired or locked while the session was open.
    c.recipient = u->record.recipient;
    audit(u->status == LinkStatus::Locked ? "pickup.session_locked" : "pickup.session_gone", c);
    sessions_.erase(c.token);
    fail = u->status == LinkStatus::Locked ? notice(c, 423, "locked.title", "locked.body")
                                           : notice(c, 410, "gone.title", "gone.body");
    fail.headers.emplace_back("Set-Cookie", expired_cookie());
    return false;
  }
  c.recipient = u->record.recipient;
  out = std::move(*u);
  return true;
}

HttpResponse PortalApp::on_auth(Ctx& c, std::string error_key, int attempts_left) {
  pickup::Unlocked u;
  HttpResponse fail;
  if (!unlock_session(c, u, fail)) return fail;
  if (c.session->authenticated && error_key.empty()) return redirect("/read");
  AuthPageModel m{u.record.auth_method, c.session->csrf, c.session->code_sent, std::move(error_key),
                  attempts_left};
  m.code_minutes = static_cast<int>((s_.code_ttl.count() + 59) / 60);
  if (s_.portal_passwords) {
    auto has = factor_.has_portal_password(u.record.recipient);
    if (!has)
      log::error("portal.password", {{"pickup", u.record.id}, {"reason", has.error().what()}});
    m.portal_password = has && *has;
  }
  return page(c, 200, render_auth(c.lang, m));
}

HttpResponse PortalApp::on_send_code(Ctx& c) {
  auto form = parse_form(c.req.body);
  if (!form || !csrf_ok(c, (*form)["csrf"])) return csrf_rejected(c, "/auth/send");
  pickup::Unlocked u;
  HttpResponse fail;
  if (!unlock_session(c, u, fail)) return fail;
  if (u.record.auth_method == "passphrase") return redirect("/auth");
  // No code for a pickup whose attempts are used up (max_attempts lowered).
  auto spent = factor_.exhausted(u.record);
  if (!spent) return failure(c, "send_code");
  if (*spent) {
    audit("pickup.locked", c, {{"newly", (*spent)->newly_locked ? "yes" : "no"}});
    if ((*spent)->newly_locked) notify_locked(u.record);
    sessions_.erase(c.token);
    return notice(c, 423, "locked.title", "locked.body");
  }
  if (limiter_.blocked(c.client)) return rate_limited(c, "client");
  if (!codes_per_pickup_.allowed(u.record.id)) {
    audit("pickup.code_rate_limited", c, {{"method", u.record.auth_method}});
    return notice(c, 429, "slow.title", "slow.body");
  }
  codes_per_pickup_.add(u.record.id);
  auto code = factor_.issue_code(u.record, c.session->secret, now());
  if (!code) return failure(c, "issue_code");
  Result<void> sent;
  if (u.record.auth_method == "sms") {
    sent = sms_(u.keys.sms_number, *code);
  } else {
    const std::string body =
        "Patient " + u.record.recipient + " is trying to open secure message " + u.record.id +
        " on the pickup portal.\n\nIf you can confirm their identity by phone, give them this "
        "code:\n\n    " +
        *code + "\n\nIt is valid for " + std::to_string(s_.code_ttl.count() / 60) +
        " minutes. Never send it by email.\n";
    auto mail = compose_staff_mail(s_.mail_from, u.record.sender,
                                   "Pickup code for " + u.record.recipient, body, now());
    sent = mail ? mail_(s_.mail_from, u.record.sender, *mail) : Result<void>(mail.error());
  }
  // A failed send still counts as a request so a broken SMS gateway cannot be
  // used to spin this endpoint for free.
  limiter_.failure(c.client);
  if (!sent) {
    log::error("portal.code_send", {{"pickup", u.record.id}, {"reason", sent.error().what()}});
    audit("pickup.code_send_failed", c, {{"method", u.record.auth_method}});
    return on_auth(c, "auth.send_failed");
  }
  audit("pickup.code_sent", c, {{"method", u.record.auth_method}});
  c.session->code_sent = true;
  sessions_.update(c.token, *c.session);
  return redirect("/auth");
}

void PortalApp::picked_up(Ctx& c, const pickup::PickupRecord& r) {
  const std::int64_t t = now();
  auto first = store_.index().mark_picked_up(r.id, t);
  if (!first) {
    log::error("portal.picked_up", {{"pickup", r.id}, {"reason", first.error().what()}});
    return;
  }
  if (!*first || !s_.pickup_receipt) return;
  // The sender learns that (and when) the patient got the message; never what it was.
  auto mail = compose_pickup_receipt(
      PickupReceipt{s_.mail_from, r.sender, r.recipient, r.id, s_.practice_name, t}, t);
  Result<void> sent = mail ? mail_(s_.mail_from, r.sender, *mail) : Result<void>(mail.error());
  if (!sent) {
    log::error("portal.receipt", {{"pickup", r.id}, {"reason", sent.error().what()}});
    audit("pickup.receipt_failed", c);
    return;
  }
  audit("pickup.receipt_sent", c);
}

void PortalApp::notify_locked(const pickup::PickupRecord& r) {
  const std::string body =
      "The secure message " + r.id + " for " + r.recipient + " was locked after " +
      std::to_string(s_.max_attempts) +
      " failed identity checks on the pickup portal.\n\nIf the patient still needs it, send the "
      "message again; the locked copy is deleted when it expires (or with 'sealpost pickup "
      "revoke " +
      r.id + "').\n";
  auto mail =
      compose_staff_mail(s_.mail_from, r.sender, "Pickup locked: " + r.recipient, body, now());
  Result<void> sent = mail ? mail_(s_.mail_from, r.sender, *mail) : Result<void>(mail.error());
  if (!sent) log::error("portal.lock_notice", {{"pickup", r.id}, {"reason", sent.error().what()}});
}

HttpResponse PortalApp::on_verify(Ctx& c) {
  auto form = parse_form(c.req.body);
  if (!form || !csrf_ok(c, (*form)["csrf"])) return csrf_rejected(c, "/auth/verify");
  if (limiter_.blocked(c.client)) return rate_limited(c, "client");
  pickup::Unlocked u;
  HttpResponse fail;
  if (!unlock_session(c, u, fail)) return fail;
  Result<pickup::Check> check =
      u.record.auth_method == "passphrase"
          ? factor_.verify_passphrase(u.record, u.keys.passphrase_hash, (*form)["secret"])
          : factor_.verify_code(u.record, c.session->secret, (*form)["code"], now());
  return after_check(c, u, check, u.record.auth_method);
}

HttpResponse PortalApp::on_auth_password(Ctx& c) {
  auto form = parse_form(c.req.body);
  if (!form || !csrf_ok(c, (*form)["csrf"])) return csrf_rejected(c, "/auth/password");
  if (!s_.portal_passwords) return notice(c, 404, "notfound.title", "notfound.body");
  if (limiter_.blocked(c.client)) return rate_limited(c, "client");
  pickup::Unlocked u;
  HttpResponse fail;
  if (!unlock_session(c, u, fail)) return fail;
  bool deleted = false;
  auto check = factor_.verify_portal_password(u.record, (*form)["password"], deleted);
  if (deleted) audit("pickup.portal_password_deleted", c, {{"reason", "failures"}});
  return after_check(c, u, check, "portal_password");
}

HttpResponse PortalApp::after_check(Ctx& c, const pickup::Unlocked& u,
                                    const Result<pickup::Check>& check, const std::string& method) {
  if (!check) {
    log::error("portal.verify", {{"pickup", u.record.id}, {"reason", check.error().what()}});
    return failure(c, "verify");
  }
  switch (check->verdict) {
    case Verdict::Ok: {
      // A fresh token and CSRF token once the second factor passed: a cookie
      // planted or seen before authentication is worth nothing afterwards.
      const bool own_factor = method != "portal_password";
      auto token = sessions_.rotate(c.token, true, own_factor);
      if (!token) return failure(c, "rotate_session");
      audit("pickup.auth_ok", c, {{"method", method}});
      picked_up(c, u.record);
      HttpResponse r = redirect("/read");
      r.headers.emplace_back("Set-Cookie", session_cookie(*token));
      return r;
    }
    case Verdict::Expired:
      audit("pickup.code_expired", c, {{"method", method}});
      return on_auth(c, "auth.expired");
    case Verdict::NoPassword:
      audit("pickup.no_portal_password", c);  // not counted: there is nothing to guess
      return on_auth(c, "auth.no_portal_password");
    case Verdict::Wrong:
      limiter_.failure(c.client);
      audit("pickup.failed", c,
            {{"method", method}, {"attempts_left", std::to_string(check->attempts_left)}});
      return on_auth(c, "auth.wrong", check->attempts_left);
    case Verdict::Locked: {
      limiter_.failure(c.client);
      audit("pickup.locked", c, {{"newly", check->newly_locked ? "yes" : "no"}});
      if (check->newly_locked) notify_locked(u.record);  // once, by whoever locked it
      sessions_.erase(c.token);
      HttpResponse r = notice(c, 423, "locked.title", "locked.body");
      r.headers.emplace_back("Set-Cookie", expired_cookie());
      return r;
    }
  }
  return failure(c, "verify");
}

HttpResponse PortalApp::on_set_password(Ctx& c) {
  // Only after the pickup's own second factor: a portal password must not
  // renew itself, and a session opened with it cannot replace it.
  if (!s_.portal_passwords) return notice(c, 404, "notfound.title", "notfound.body");
  if (!c.session->authenticated || !c.session->second_factor) {
    audit("pickup.not_authenticated", c, {{"path", "/password"}});
    return notice(c, 403, "session.title", "session.body");
  }
  pickup::Unlocked u;
  HttpResponse fail;
  if (!unlock_session(c, u, fail)) return fail;
  if (c.req.method != "POST") return page(c, 200, render_password(c.lang, c.session->csrf, ""));
  auto form = parse_form(c.req.body);
  if (!form || !csrf_ok(c, (*form)["csrf"])) return csrf_rejected(c, "/password");
  const std::string& pw = (*form)["password"];
  if (pw.size() < pickup::kMinPortalPassword || pw.size() > 1024)
    return page(c, 400, render_password(c.lang, c.session->csrf, "password.too_short"));
  if (!constant_time_equal(pw, (*form)["confirm"]))
    return page(c, 400, render_password(c.lang, c.session->csrf, "password.mismatch"));
  if (auto r = factor_.set_portal_password(u.record.recipient, pw, now()); !r) {
    log::error("portal.password", {{"pickup", u.record.id}, {"reason", r.error().what()}});
    audit("pickup.error", c, {{"stage", "set_portal_password"}, {"status", "503"}});
    return page(c, 503, render_password(c.lang, c.session->csrf, "password.failed"));
  }
  audit("pickup.portal_password_set", c);
  return page(c, 200, render_password(c.lang, c.session->csrf, "", true));
}

HttpResponse PortalApp::on_read(Ctx& c) {
  if (!c.session->authenticated) return redirect("/auth");
  pickup::Unlocked u;
  HttpResponse fail;
  if (!unlock_session(c, u, fail)) return fail;
  auto mime = store_.read_message(u);
  if (!mime) return failure(c, "read_blob");
  auto view = parse_message(*mime);
  if (!view) return failure(c, "parse_message");
  audit("pickup.read", c, {{"attachments", std::to_string(view->attachments.size())}});
  return page(
      c, 200,
      render_read(c.lang, *view, c.session->csrf, s_.portal_passwords && c.session->second_factor));
}

HttpResponse PortalApp::on_attachment(Ctx& c, std::size_t index) {
  if (!c.session->authenticated) {
    audit("pickup.not_authenticated", c, {{"path", "/att"}});
    return notice(c, 403, "session.title", "session.body");
  }
  pickup::Unlocked u;
  HttpResponse fail;
  if (!unlock_session(c, u, fail)) return fail;
  auto mime = store_.read_message(u);
  if (!mime) return failure(c, "read_blob");
  auto view = parse_message(*mime);
  if (!view) return failure(c, "parse_message");
  if (index >= view->attachments.size()) {
    audit("pickup.no_such_attachment", c, {{"index", std::to_string(index)}});
    return notice(c, 404, "notfound.title", "notfound.body");
  }
  Attachment& a = view->attachments[index];
  audit("pickup.downloaded", c,
        {{"index", std::to_string(index)}, {"bytes", std::to_string(a.data.size())}});
  HttpResponse r;
  // Always a download, never rendered in our origin: octet-stream + attachment + nosniff.
  r.content_type = "application/octet-stream";
  r.headers.emplace_back(
      "Content-Disposition",
      attachment_disposition(a.filename.empty() ? "attachment-" + std::to_string(index + 1)
                                                : a.filename));
  r.body = std::move(a.data);
  return r;
}

HttpResponse PortalApp::on_reply(Ctx& c) {
  if (!c.session->authenticated) return redirect("/auth");
  if (c.req.method != "POST") return page(c, 200, render_reply(c.lang, c.session->csrf, ""));
  auto parts = parse_multipart(c.req.content_type, c.req.body,
                               MultipartLimits{s_.max_reply_files + 3, 2048});
  if (!parts) {
    audit("pickup.reply_rejected", c, {{"reason", "malformed"}});
    return page(c, 400, render_reply(c.lang, c.session->csrf, "reply.too_large"));
  }
  std::string csrf, text;
  std::vector<FormPart> files;
  for (auto& p : *parts) {
    if (p.name == "csrf" && p.filename.empty())
      csrf = p.data;
    else if (p.name == "text" && p.filename.empty())
      text = p.data;
    else if (p.name == "files" && !(p.filename.empty() && p.data.empty()))
      files.push_back(std::move(p));
  }
  if (!csrf_ok(c, csrf)) return csrf_rejected(c, "/reply");
  if (text.find_first_not_of(" \r\n\t") == std::string::npos) {
    audit("pickup.reply_rejected", c, {{"reason", "empty"}});
    return page(c, 400, render_reply(c.lang, c.session->csrf, "reply.empty"));
  }
  if (text.size() > kMaxReplyText || files.size() > s_.max_reply_files) {
    audit("pickup.reply_rejected", c, {{"reason", "too_large"}});
    return page(c, 400, render_reply(c.lang, c.session->csrf, "reply.too_large"));
  }

  pickup::Unlocked u;
  HttpResponse fail;
  if (!unlock_session(c, u, fail)) return fail;
  auto mime = store_.read_message(u);
  std::string subject = "Re: ";
  if (mime) {
    if (auto view = parse_message(*mime)) subject += view->subject;
  }
  std::size_t bytes = 0;
  for (const auto& f : files) bytes += f.data.size();
  ReplyMail reply{u.record.recipient, u.record.sender, subject,
                  u.record.id,        std::move(text), std::move(files)};
  auto msg = compose_reply(reply, now());
  Result<void> sent =
      msg ? mail_(u.record.recipient, u.record.sender, *msg) : Result<void>(msg.error());
  if (!sent) {
    log::error("portal.reply", {{"pickup", u.record.id}, {"reason", sent.error().what()}});
    audit("pickup.reply_failed", c);
    return page(c, 503, render_reply(c.lang, c.session->csrf, "reply.failed"));
  }
  audit("pickup.replied", c,
        {{"attachments", std::to_string(reply.files.size())}, {"bytes", std::to_string(bytes)}});
  return redirect("/done");
}

HttpResponse PortalApp::on_logout(Ctx& c) {
  auto form = parse_form(c.req.body);
  if (!form || !csrf_ok(c, (*form)["csrf"])) return csrf_rejected(c, "/logout");
  sessions_.erase(c.token);
  audit("pickup.logout", c);
  HttpResponse r = notice(c, 200, "bye.title", "bye.body");
  r.headers.emplace_back("Set-Cookie", expired_cookie());
  return r;
}

}  // namespace sealpost::portal
