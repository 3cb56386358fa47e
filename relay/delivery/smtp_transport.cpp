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

void SmtpTransport::reconfigure(SmarthostConfig cfg, std::string helo_name) {
  auto fresh = std::make_shared<const Settings>(Settings{std::move(cfg), std::move(helo_name)});
  std::lock_guard lk(mu_);
  settings_ = std::move(fresh);
}

std::shared_ptr<const SmtpTransport::Settings> SmtpTransport::settings() const {
  std::lock_guard lk(mu_);
  return settings_;
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

  const auto current = settings();  // keeps cfg alive for the connection's lifetime
  auto conn = SmtpConnection::open(current->cfg, current->helo);
  if (!conn) return conn.error();
  SmtpConnection& c = **conn;

  bool needs_utf8 = msg.smtputf8 && has_8bit(msg.mail_from);
  for (const auto* r : to_try) needs_utf8 = needs_utf8 || (msg.smtputf8 && has_8bit(r->address));
  if (needs_utf8 && !c.has_extension("SMTPUTF8"))
    return Error::perm("5.6.7", "Smarthost cannot relay internationalized addresses",
                       "SMTPUTF8 needed but not offered");

  const bool dsn = c.has_extension("DSN");
  auto mail = c.command(mail_from_command(msg, c.has_extension("SIZE"), c.has_extension("8BITMIME"),
                                          c.has_extension("SMTPUTF8"), dsn));
  if (!mail) return mail.error();
  if (mail->code != 250) {
    const int code = mail->code >= 500 ? mail->code : 451;
    return Error::make(code,
                       mail->enhanced.empty() ? (code >= 500 ? "5.0.0" : "4.0.0") : mail->enhanced,
                       mail->text, "MAIL FROM refused: " + std::to_string(mail->code));
  }

  std::vector<const OutboundRecipient*> accepted;
  for (const auto* r : to_try) {
    auto reply = c.command(rcpt_to_command(*r, dsn));
    if (!reply) return reply.error();  // connection lost: the whole attempt is retried
    if (reply->code == 250 || reply->code == 251)
      accepted.push_back(r);
    else
      outcomes.push_back(outcome_of(r->address, *reply));
  }
  if (accepted.empty()) {
    (void)c.command("RSET");
    return outcomes;
  }

  auto data = c.command("DATA");
  if (!data) return data.error();
  SmtpReply final_reply = *data;
  if (data->code == 354) {
    auto sent = c.send_data(msg.data);
    if (!sent) return sent.error();  // unknown whether it arrived: retry (a duplicate beats a loss)
    final_reply = *sent;
  }
  for (const auto* r : accepted) outcomes.push_back(outcome_of(r->address, final_reply));
  return outcomes;
}

}  // namespace sealpost::delivery

namespace sealpost {

std::unique_ptr<Transport> make_smtp_transport(const SmarthostConfig& cfg,
                                               const std::string& helo_name) {
  return std::make_unique<delivery::SmtpTransport>(cfg, helo_name);
}

}  // namespace sealpost
