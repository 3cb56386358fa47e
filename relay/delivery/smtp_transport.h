// SmtpTransport: the Transport that hands prepared messages to the smarthost
// over libetpan (smtp_connection.h). Connections are reused for a few seconds
// (the Postfix connection cache habit): a TLS handshake per message would cost
// more than the message. Only a connection whose last transaction ended with a
// reply goes back to the pool; a pooled connection that turns out to be dead
// before MAIL FROM was answered is replaced by a fresh one transparently.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "relay/delivery/smtp_connection.h"
#include "relay/delivery/transport.h"

namespace sealpost::delivery {

class SmtpTransport final : public Transport {
 public:
  SmtpTransport(SmarthostConfig cfg, std::string helo_name)
      : settings_(
            std::make_shared<const Settings>(Settings{std::move(cfg), std::move(helo_name)})) {}
  ~SmtpTransport() override;

  Result<std::vector<RcptOutcome>> send(const OutboundMessage& msg) override;

  // SIGHUP: later attempts use the new smarthost settings; attempts in flight
  // finish with the old ones.
  void reconfigure(SmarthostConfig cfg, std::string helo_name);
  // Shutdown after the grace period: cuts every open connection (attempts in
  // flight fail as temporary, their messages stay queued) and opens no new one.
  void abort_in_flight() { abort_.abort_all(); }

 private:
  struct Settings {
    SmarthostConfig cfg;
    std::string helo;
  };
  // A connection together with the settings it was opened with (it refers to them).
  struct Lease {
    std::unique_ptr<SmtpConnection> conn;
    std::shared_ptr<const Settings> settings;
    std::chrono::steady_clock::time_point idle_since{};
    unsigned uses = 0;
  };
  enum class Ending { Clean, Broken, DeadBeforeMail };

  std::shared_ptr<const Settings> settings() const;
  Result<Lease> fresh_lease();
  std::optional<Lease> take_idle(const std::shared_ptr<const Settings>& current);
  void give_back(Lease lease);
  Result<std::vector<RcptOutcome>> transact(SmtpConnection& c, const OutboundMessage& msg,
                                            const std::vector<const OutboundRecipient*>& rcpts,
                                            Ending& ending);

  ConnectionAbort abort_;  // declared before the pool: outlives every connection
  mutable std::mutex mu_;
  std::shared_ptr<const Settings> settings_;
  std::vector<Lease> idle_;  // guarded by mu_
};

// "MAIL FROM:<...> SIZE=.. BODY=.. SMTPUTF8 RET=.. ENVID=.." for what the server
// offers; exposed for tests. has(ext) answers whether an EHLO keyword was offered.
std::string mail_from_command(const OutboundMessage& msg, bool size, bool eightbitmime,
                              bool smtputf8, bool dsn);
std::string rcpt_to_command(const OutboundRecipient& rcpt, bool dsn);
// Envelope addresses must not be able to smuggle SMTP syntax (CR, LF, <, >, NUL).
bool safe_envelope_address(std::string_view address);

}  // namespace sealpost::delivery
