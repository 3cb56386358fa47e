// One SMTP server session as a pure state machine ("sans-IO"): bytes from the
// client go into feed(), replies and instructions for the network layer come
// out. No sockets, no threads, no clocks beyond the Received date, so the
// whole protocol is tested over in-memory byte strings and fuzzed.
//
// Blocking work (password hashing, the spool's fsync on commit) is never done
// inside feed(): the session stops with `blocked`, the server runs
// run_blocking_step() on a worker thread and then calls resume() back on the
// connection's own executor. Pipelined input waits in the session meanwhile.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "relay/smtp/authenticator.h"
#include "relay/smtp/command_line.h"
#include "relay/smtp/data_reader.h"
#include "relay/smtp/envelope_syntax.h"
#include "relay/smtp/sasl.h"
#include "relay/spool/spool.h"

namespace sealpost::smtp {

struct SessionSettings {
  std::string hostname;  // ours, for the banner and the Received line
  ListenMode mode = ListenMode::Submission;
  bool tls_offered = false;  // a certificate is configured: STARTTLS may be used
  bool tls_active = false;   // implicit TLS listener: encrypted from the first byte
  std::uint64_t max_message_size = 50ull * 1024 * 1024;
  unsigned max_recipients = 100;
  unsigned max_auth_failures = 3;
  unsigned max_bad_commands = 10;  // syntax/sequence errors before 421
  std::string listener;            // listener address, recorded in the envelope
  std::string client_addr;         // peer IP: envelope and logs, never the message
};

struct SessionOutput {
  std::string replies;     // write these to the client first
  bool start_tls = false;  // then run the TLS handshake and call tls_started()
  bool close = false;      // then close the connection
  bool blocked = false;    // then run run_blocking_step() off-thread and call resume()
  std::string queued_id;   // a message was committed with this queue id
};

class SmtpSession {
 public:
  // `auth` may be null (filter listeners); submission then refuses AUTH.
  SmtpSession(SessionSettings settings, Spool& spool, const Authenticator* auth);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  SessionOutput greeting();
  SessionOutput feed(std::string_view bytes);
  // The slow part of AUTH or of the end of DATA; safe to call on any thread
  // as long as nothing else touches the session meanwhile.
  void run_blocking_step();
  SessionOutput resume();
  // The handshake finished: RFC 3207 §4.2 forgets everything said before.
  void tls_started();

  SessionOutput timeout();        // idle or DATA deadline passed: 421 4.4.2
  SessionOutput shutting_down();  // daemon stops: 421 4.3.2

  bool in_data() const { return state_ == State::Data; }
  bool blocked() const { return pending_ != Pending::None; }
  // The pending step is a password check (CPU + memory heavy), not a commit.
  bool blocked_on_password() const { return pending_ == Pending::Auth; }
  bool closed() const { return closed_; }
  bool tls_active() const { return settings_.tls_active; }

 private:
  enum class State { Command, Data, AuthPlain, AuthLoginUser, AuthLoginPassword };
  enum class Pending { None, Auth, Commit };

  std::size_t process(std::string_view in);
  void handle_line(std::string_view line, bool more_input);
  void handle_auth_response(std::string_view line);

  void cmd_helo(std::string_view arg, bool ehlo);
  void cmd_starttls(std::string_view arg, bool more_input);
  void cmd_auth(std::string_view arg);
  void cmd_mail(std::string_view line);
  void cmd_rcpt(std::string_view line);
  void cmd_data(std::string_view arg);

  std::size_t consume_data(std::string_view in);
  void end_of_data();
  void finish_auth();
  void finish_commit();
  void start_password_check(std::string user, SecretString password);
  void auth_failed(int code, std::string_view enhanced, std::string_view text);

  void reply(int code, std::string_view enhanced, std::string_view text);
  void refuse(int code, std::string_view enhanced, std::string_view text,
              std::string_view log_class);
  void bad_command(int code, std::string_view enhanced, std::string_view text);
  void close_with(int code, std::string_view enhanced, std::string_view text);
  void reset_transaction();
  SessionOutput take_output();

  SessionSettings settings_;
  Spool& spool_;
  const Authenticator* auth_;

  State state_ = State::Command;
  Pending pending_ = Pending::None;
  bool closed_ = false;
  bool tls_pending_ = false;
  SessionOutput out_;
  std::string in_;  // unconsumed client bytes (bounded: one read + one command line)
  CommandLineReader lines_;

  // Connection state (reset by STARTTLS).
  std::string helo_;
  bool ehlo_ = false;
  std::string user_;  // authenticated user, "" if none
  unsigned auth_failures_ = 0;
  unsigned bad_commands_ = 0;

  // AUTH in progress.
  std::string auth_user_;
  SecretString auth_password_;
  bool auth_ok_ = false;

  // Mail transaction.
  bool has_mail_ = false;
  std::string mail_from_;
  MailParams mail_params_;
  std::vector<SpoolRecipient> rcpts_;
  std::unique_ptr<Spool::Writer> writer_;
  std::optional<DataReader> data_;
  std::optional<Error> write_error_;
  std::string data_buf_;
  std::string tx_id_;
  std::uint64_t stored_size_ = 0;
  std::optional<Result<std::string>> commit_result_;
};

}  // namespace sealpost::smtp
