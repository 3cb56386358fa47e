// One client connection to the smarthost over libetpan: TCP with a deadline,
// implicit TLS or STARTTLS (GnuTLS inside libetpan; TLS 1.2+ enforced by
// tls_handshake.h and the peer verified with OpenSSL in tls_peer_verify.h
// before anything but the greeting is exchanged), EHLO with
// our configured name, AUTH PLAIN/LOGIN, commands and DATA.
//
// libetpan provides the stream, TLS and greeting; DATA is dot-stuffed in dot_stuff.h;
// EHLO/MAIL/RCPT/AUTH lines are written here because libetpan's versions use
// gethostname() for EHLO and cannot send BODY=, SMTPUTF8 or a raw ORCPT.
#pragma once

#include <libetpan/libetpan.h>

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "common/body.h"
#include "common/result.h"
#include "config/config.h"
#include "relay/delivery/connection_abort.h"
#include "relay/delivery/smtp_reply.h"
#include "relay/delivery/tls_handshake.h"

namespace sealpost::delivery {

class SmtpConnection {
 public:
  // Connects, secures and greets (EHLO, AUTH if configured). Error carries a
  // temporary code for anything that is not the message's fault, including a
  // 5xx greeting, EHLO or STARTTLS reply: only MAIL/RCPT/DATA replies judge a
  // message.
  // With `abort`, the socket is registered there as soon as it is connected.
  static Result<std::unique_ptr<SmtpConnection>> open(const SmarthostConfig& cfg,
                                                      const std::string& helo_name,
                                                      ConnectionAbort* abort = nullptr);
  ~SmtpConnection();  // sends QUIT and closes
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // Sends one command line (without CRLF; CR/LF inside are refused) and reads the reply.
  Result<SmtpReply> command(std::string_view line);
  // After a 354: sends the message (CRLF lines, not yet dot-stuffed) and reads
  // the reply. If the message cannot be read to its end, the connection is
  // dropped without the end-of-data mark, so the server discards what it got.
  Result<SmtpReply> send_data(const Body& data);

  bool has_extension(std::string_view keyword) const;  // upper-case EHLO keyword
  bool encrypted() const { return encrypted_; }

 private:
  struct SessionFree {
    void operator()(mailsmtp* s) const { mailsmtp_free(s); }
  };
  explicit SmtpConnection(const SmarthostConfig& cfg) : cfg_(cfg) {}

  Result<void> greet(const std::string& helo_name);
  Result<void> start_tls();
  Result<void> verify_peer(mailstream* stream, const TlsHandshake& handshake);
  Result<void> authenticate();
  Result<std::string> read_line();
  Result<SmtpReply> read_reply();
  Result<void> write_line(std::string_view line);

  const SmarthostConfig& cfg_;
  std::unique_ptr<mailsmtp, SessionFree> session_;
  std::set<std::string> extensions_;
  std::set<std::string> auth_mechanisms_;
  bool encrypted_ = false;
  ConnectionAbort::Registration abort_watch_;
};

}  // namespace sealpost::delivery
