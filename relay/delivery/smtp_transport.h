// SmtpTransport: the Transport that hands prepared messages to the smarthost
// over libetpan (smtp_connection.h). One connection per message: simple, and a
// failed connection never affects another message; see docs/queue.md for the
// measured cost.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "config/config.h"
#include "relay/delivery/transport.h"

namespace sealpost::delivery {

class SmtpTransport final : public Transport {
 public:
  SmtpTransport(SmarthostConfig cfg, std::string helo_name)
      : settings_(
            std::make_shared<const Settings>(Settings{std::move(cfg), std::move(helo_name)})) {}

  Result<std::vector<RcptOutcome>> send(const OutboundMessage& msg) override;

  // SIGHUP: later attempts use the new smarthost settings; attempts in flight
  // finish with the old ones.
  void reconfigure(SmarthostConfig cfg, std::string helo_name);

 private:
  struct Settings {
    SmarthostConfig cfg;
    std::string helo;
  };
  std::shared_ptr<const Settings> settings() const;

  mutable std::mutex mu_;
  std::shared_ptr<const Settings> settings_;
};

// "MAIL FROM:<...> SIZE=.. BODY=.. SMTPUTF8 RET=.. ENVID=.." for what the server
// offers; exposed for tests. has(ext) answers whether an EHLO keyword was offered.
std::string mail_from_command(const OutboundMessage& msg, bool size, bool eightbitmime,
                              bool smtputf8, bool dsn);
std::string rcpt_to_command(const OutboundRecipient& rcpt, bool dsn);
// Envelope addresses must not be able to smuggle SMTP syntax (CR, LF, <, >, NUL).
bool safe_envelope_address(std::string_view address);

}  // namespace sealpost::delivery
