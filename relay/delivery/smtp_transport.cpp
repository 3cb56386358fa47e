#include "relay/delivery/smtp_transport.h"

#include <algorithm>

#include "relay/delivery/delivery_scheduler.h"
#include "relay/delivery/smtp_connection.h"

namespace sealpost::delivery {
namespace {

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// DSN parameter values arrive as xtext from our SMTP server; anything that is
// not printable ASCII without spaces or '=' is dropped rather than forwarded.
bool safe_param(std::string_view v) {
  return !v.empty() &&
         std::all_of(v.begin(), v.end(), [](char c) { return c > 32 && c < 127 && c != '='; });
}

RcptOutcome outcome_of(const std::string& address, const SmtpReply& r) {
  std::string enhanced = r.enhanced;
  if (enhanced.empty()) enhanced = r.code >= 500 ? "5.0.0" : r.code >= 400 ? "4.0.0" : "2.0.0";
  return RcptOutcome{address, r.code, enhanced, r.text};
}

}  // namespace

bool safe_envelope_address(std::string_view address) {
  return address.size() <= 512 && std::none_of(address.begin(), address.end(), [](char c) {
           return c == '\r' || c == '\n' || c == '\0' || c == '<' || c == '>';
         });
}

std::string mail_from_command(const OutboundMessage& msg, bool size, bool eightbitmime,
                              bool smtputf8, bool dsn) {
  std::string cmd = "MAIL FROM:<" + msg.mail_from + ">";
  if (size) cmd += " SIZE=" + std::to_string(msg.data.size());
  if (msg.eight_bit && eightbitmime) cmd += " BODY=8BITMIME";
  if (msg.smtputf8 && smtputf8) cmd += " SMTPUTF8";
  if (dsn) {
    if (msg.ret == "FULL" || msg.ret == "HDRS") cmd += " RET=" + msg.ret;
    if (safe_param(msg.envid)) cmd += " ENVID=" + msg.envid;
  }
  return cmd;
}

std::string rcpt_to_command(const OutboundRecipient& rcpt, bool dsn) {
  std::string cmd = "RCPT TO:<" + rcpt.address + ">";
  if (dsn) {
    if (safe_param(rcpt.notify)) cmd += " NOTIFY=" + rcpt.notify;
    if (safe_param(rcpt.orcpt)) cmd += " ORCPT=" + rcpt.orcpt;
  }
  return cmd;
}

namespace {
// Postfix keeps idle smarthost connections for 2 s; a few seconds more still
// stays well below any server's idle timeout.
constexpr auto kMaxIdle = std::chrono::seconds(5);
constexpr unsigned kMaxUses = 100;
constexpr std::size_t kMaxPooled = 16;
}  // namespace

SmtpTransport::~SmtpTransport() = default;

void SmtpTransport::reconfigure(SmarthostConfig cfg, std::string helo_name) {
  auto fresh = std::make_shared<const Settings>(Settings{std::move(cfg), std::move(helo_name)});
  std::vector<Lease> old;
  {
    std::lock_guard lk(mu_);
    settings_ = std::move(fresh);
    old.swap(idle_);  // connections to the old smarthost are not reused
  }
}

std::shared_ptr<const SmtpTransport::Settings> SmtpTransport::settings() const {
  std::lock_guard lk(mu_);
  return settings_;
}

Result<SmtpTransport::Lease> SmtpTransport::fresh_lease() {
  Lease lease;
  lease.settings = settings();
  auto conn = SmtpConnection::open(lease.settings->cfg, lease.settings->helo, &abort_);
  if (!conn) return conn.error();
  lease.conn = std::move(*conn);
  return lease;
}

std::optional<SmtpTransport::Lease> SmtpTransport::take_idle(
    const std::shared_ptr<const Settings>& current) {
  std::vector<Lease> expired;  // closed (QUIT) outside the lock
  std::optional<Lease> found;
  {
    std::lock_guard lk(mu_);
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty() && !found) {
      Lease l = std::move(idle_.back());
      idle_.pop_back();
      if (l.settings == current && now - l.idle_since < kMaxIdle)
        found = std::move(l);
      else
        expired.push_back(std::move(l));
    }
  }
  return found;
}

void SmtpTransport::give_back(Lease lease) {
  if (++lease.uses >= kMaxUses) return;  // destructor sends QUIT
  lease.idle_since = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  if (lease.settings == settings_ && idle_.size() < kMaxPooled) idle_.push_back(std::move(lease));
}

Result<std::vector<RcptOutcome>> SmtpTransport::transact(
    SmtpConnection& c, const OutboundMessage& msg,
    const std::vector<const OutboundRecipient*>& rcpts, Ending& ending) {
  ending = Ending::Broken;
  bool needs_utf8 = msg.smtputf8 && has_8bit(msg.mail_from);
  for (const auto* r : rcpts) needs_utf8 = needs_utf8 || (msg.smtputf8 && has_8bit(r->address));
  if (needs_utf8 && !c.has_extension("SMTPUTF8")) {
    ending = Ending::Clean;  // nothing was sent
    return Error::perm("5.6.7", "Smarthost cannot relay internationalized addresses",
                       "SMTPUTF8 needed but not offered");
  }

  const bool dsn = c.has_extension("DSN");
  auto mail = c.command(mail_from_command(msg, c.has_extension("SIZE"), c.has_extension("8BITMIME"),
                                          c.has_extension("SMTPUTF8"), dsn));
  if (!mail) {
    ending = Ending::DeadBeforeMail;
    return mail.error();
  }
  if (mail->code == 421) {
    // "Closing transmission channel", typically an idle timeout that hit a
    // pooled connection: nothing was accepted, a fresh connection may retry.
    ending = Ending::DeadBeforeMail;
    return Error::make(421, mail->enhanced.empty() ? "4.4.2" : mail->enhanced, mail->text,
                       "smarthost closed the connection");
  }
  if (mail->code != 250) {
    const int code = mail->code >= 500 ? mail->code : 451;
    if (auto rset = c.command("RSET"); rset && rset->code == 250) ending = Ending::Clean;
    return Error::make(code,
                       mail->enhanced.empty() ? (code >= 500 ? "5.0.0" : "4.0.0") : mail->enhanced,
                       mail->text, "MAIL FROM refused: " + std::to_string(mail->code));
  }

  std::vector<RcptOutcome> outcomes;
  std::vector<const OutboundRecipient*> accepted;
  for (const auto* r : rcpts) {
    auto reply = c.command(rcpt_to_command(*r, dsn));
    if (!reply) return reply.error();  // connection lost: the whole attempt is retried
    if (reply->code == 250 || reply->code == 251)
      accepted.push_back(r);
    else
      outcomes.push_back(outcome_of(r->address, *reply));
  }
  if (accepted.empty()) {
    if (auto rset = c.command("RSET"); rset && rset->code == 250) ending = Ending::Clean;
    return outcomes;
  }

  auto data = c.command("DATA");
  if (!data) return data.error();
  SmtpReply final_reply = *data;
  if (data->code == 354) {
    auto sent = c.send_data(msg.data);
    if (!sent) return sent.error();  // unknown whether it arrived: retry (a duplicate beats a loss)
    final_reply = *sent;
  } else if (auto rset = c.command("RSET"); !rset || rset->code != 250) {
    for (const auto* r : accepted) outcomes.push_back(outcome_of(r->address, final_reply));
    return outcomes;  // ending stays Broken: do not reuse
  }
  for (const auto* r : accepted) outcomes.push_back(outcome_of(r->address, final_reply));
  ending = Ending::Clean;
  return outcomes;
}

Result<std::vector<RcptOutcome>> SmtpTransport::send(const OutboundMessage& msg) {
  if (!safe_envelope_address(msg.mail_from))
    return Error::perm("5.1.7", "Invalid sender address", "unsafe characters in MAIL FROM");
  std::vector<RcptOutcome> outcomes;
  std::vector<const OutboundRecipient*> to_try;
  for (const auto& r : msg.rcpts) {
    if (safe_envelope_address(r.address) && !r.address.empty())
      to_try.push_back(&r);
    else
      outcomes.push_back(RcptOutcome{r.address, 553, "5.1.3", "invalid recipient address"});
  }
  if (to_try.empty()) return outcomes;

  std::optional<Lease> lease = take_idle(settings());
  const bool reused = lease.has_value();
  if (!lease) {
    auto fresh = fresh_lease();
    if (!fresh) return fresh.error();
    lease = std::move(*fresh);
  }
  Ending ending = Ending::Broken;
  auto result = transact(*lease->conn, msg, to_try, ending);
  if (!result && reused && ending == Ending::DeadBeforeMail) {
    // The server closed the idle connection meanwhile; nothing of this message
    // was accepted, so a fresh connection is a clean first try.
    auto fresh = fresh_lease();
    if (!fresh) return fresh.error();
    lease = std::move(*fresh);
    result = transact(*lease->conn, msg, to_try, ending);
  }
  if (ending == Ending::Clean) give_back(std::move(*lease));
  if (!result) return result.error();
  outcomes.insert(outcomes.end(), result->begin(), result->end());
  return outcomes;
}

}  // namespace sealpost::delivery

namespace sealpost {

std::unique_ptr<Transport> make_smtp_transport(const SmarthostConfig& cfg,
                                               const std::string& helo_name) {
  return std::make_unique<delivery::SmtpTransport>(cfg, helo_name);
}

}  // namespace sealpost
