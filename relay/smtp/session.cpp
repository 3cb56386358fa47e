#include "relay/smtp/session.h"

#include <algorithm>
#include <ctime>

#include "common/log.h"
#include "common/secure_random.h"
#include "relay/smtp/received_header.h"
#include "relay/smtp/reply.h"

namespace sealpost::smtp {

namespace {

// Splits "VERB rest" and upper-cases the verb (verbs are case-insensitive).
std::pair<std::string, std::string_view> split_verb(std::string_view line) {
  const auto sp = line.find(' ');
  std::string verb(line.substr(0, sp));
  for (char& c : verb)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  return {std::move(verb), rest};
}

constexpr std::string_view kUsernamePrompt = "VXNlcm5hbWU6";  // base64("Username:")
constexpr std::string_view kPasswordPrompt = "UGFzc3dvcmQ6";  // base64("Password:")

}  // namespace

SmtpSession::SmtpSession(SessionSettings settings, Spool& spool, const Authenticator* auth)
    : settings_(std::move(settings)), spool_(spool), auth_(auth) {}

SmtpSession::~SmtpSession() = default;

// ---- output helpers ---------------------------------------------------------

void SmtpSession::reply(int code, std::string_view enhanced, std::string_view text) {
  append_reply(out_.replies, code, enhanced, text);
}

void SmtpSession::refuse(int code, std::string_view enhanced, std::string_view text,
                         std::string_view log_class) {
  log::info("smtp.refused", {{"class", log_class},
                             {"code", code},
                             {"client", settings_.client_addr},
                             {"listener", settings_.listener}});
  // Refusals count towards the error limit like syntax errors (the Postfix
  // habit), so a client cannot probe senders or loop without AUTH forever.
  // 452 "too many recipients" is normal flow control for large pipelined lists.
  if (code == 452) return reply(code, enhanced, text);
  bad_command(code, enhanced, text);
}

void SmtpSession::bad_command(int code, std::string_view enhanced, std::string_view text) {
  reply(code, enhanced, text);
  if (++bad_commands_ >= settings_.max_bad_commands) {
    log::info("smtp.refused", {{"class", "too_many_errors"}, {"client", settings_.client_addr}});
    close_with(421, "4.7.0", "Too many errors, closing connection");
  }
}

void SmtpSession::close_with(int code, std::string_view enhanced, std::string_view text) {
  reply(code, enhanced, settings_.hostname + " " + std::string(text));
  closed_ = true;
  out_.close = true;
  reset_transaction();
  // in_ is dropped by feed()/resume() once process() no longer looks at it.
}

SessionOutput SmtpSession::take_output() {
  out_.blocked = pending_ != Pending::None;
  SessionOutput out = std::move(out_);
  out_ = SessionOutput{};
  return out;
}

void SmtpSession::reset_transaction() {
  has_mail_ = false;
  mail_from_.clear();
  mail_params_ = MailParams{};
  rcpts_.clear();
  writer_.reset();  // an uncommitted writer discards its data
  data_.reset();
  write_error_.reset();
  tx_id_.clear();
  stored_size_ = 0;
  commit_result_.reset();
  if (state_ == State::Data) state_ = State::Command;
}

// ---- entry points -----------------------------------------------------------

SessionOutput SmtpSession::greeting() {
  reply(220, "", settings_.hostname + " ESMTP Sealpost");
  return take_output();
}

SessionOutput SmtpSession::feed(std::string_view bytes) {
  if (closed_) return {};
  if (tls_pending_) {
    // Bytes after STARTTLS that were not part of the handshake: injection.
    close_with(421, "4.7.0", "Unexpected data after STARTTLS");
    return take_output();
  }
  if (in_.empty() && pending_ == Pending::None) {
    // Common case: nothing buffered, parse straight from the caller's bytes.
    const std::size_t used = process(bytes);
    in_.assign(bytes.substr(used));
  } else {
    in_.append(bytes);
    if (pending_ == Pending::None) in_.erase(0, process(in_));
  }
  if (closed_) in_.clear();
  return take_output();
}

void SmtpSession::run_blocking_step() {
  if (pending_ == Pending::Auth) {
    auth_ok_ = auth_ != nullptr && auth_->verify(auth_user_, auth_password_.view());
    auth_password_.clear();
  } else if (pending_ == Pending::Commit && writer_) {
    SpoolEnvelope env;
    env.mail_from = mail_from_;
    env.ret = mail_params_.ret;
    env.envid = mail_params_.envid;
    env.body = mail_params_.body;
    env.smtputf8 = mail_params_.smtputf8;
    env.auth_user = user_;
    env.client_addr = settings_.client_addr;
    env.helo = helo_;
    env.listener = settings_.listener;
    env.arrival = static_cast<std::int64_t>(std::time(nullptr));
    env.size = stored_size_;
    env.rcpts = rcpts_;
    commit_result_ = writer_->commit(std::move(env));
  }
}

SessionOutput SmtpSession::resume() {
  const Pending was = pending_;
  pending_ = Pending::None;
  if (was == Pending::Auth) finish_auth();
  if (was == Pending::Commit) finish_commit();
  if (!closed_ && !tls_pending_ && !in_.empty()) in_.erase(0, process(in_));
  if (closed_) in_.clear();
  return take_output();
}

void SmtpSession::tls_started() {
  tls_pending_ = false;
  settings_.tls_active = true;
  helo_.clear();
  ehlo_ = false;
  user_.clear();
  auth_user_.clear();
  auth_password_.clear();
  state_ = State::Command;
  reset_transaction();
  lines_.reset();
  in_.clear();
}

SessionOutput SmtpSession::timeout() {
  if (!closed_) close_with(421, "4.4.2", "Timeout, closing connection");
  return take_output();
}

SessionOutput SmtpSession::shutting_down() {
  if (!closed_) close_with(421, "4.3.2", "Service shutting down, closing connection");
  return take_output();
}

// ---- input loop -------------------------------------------------------------

std::size_t SmtpSession::process(std::string_view in) {
  std::size_t pos = 0;
  while (pos < in.size() && !closed_ && pending_ == Pending::None && !tls_pending_) {
    if (state_ == State::Data) {
      pos += consume_data(in.substr(pos));
      continue;
    }
    const CommandLineScan scan = lines_.next(in.substr(pos));
    using Kind = CommandLineScan::Kind;
    if (scan.kind == Kind::Incomplete) break;
    pos += scan.consumed;
    switch (scan.kind) {
      case Kind::Line:
        handle_line(scan.line, pos < in.size());
        break;
      case Kind::BadEnding:
        if (state_ != State::Command) state_ = State::Command;  // abandons an AUTH exchange
        bad_command(500, "5.5.2", "Bare CR or LF not allowed, use CRLF");
        break;
      case Kind::TooLong:
        if (state_ != State::Command) state_ = State::Command;
        bad_command(500, "5.5.2", "Line too long");
        break;
      case Kind::Skipping:
      case Kind::Incomplete:
        break;
    }
  }
  return pos;
}

void SmtpSession::handle_line(std::string_view line, bool more_input) {
  if (state_ != State::Command) {
    handle_auth_response(line);
    return;
  }
  auto [verb, arg] = split_verb(line);
  if (verb == "EHLO" || verb == "HELO") return cmd_helo(arg, verb == "EHLO");
  if (verb == "MAIL") return cmd_mail(line);
  if (verb == "RCPT") return cmd_rcpt(line);
  if (verb == "DATA") return cmd_data(arg);
  if (verb == "AUTH") return cmd_auth(arg);
  if (verb == "STARTTLS") return cmd_starttls(arg, more_input);
  if (verb == "RSET") {
    if (!arg.empty()) return bad_command(501, "5.5.4", "RSET takes no arguments");
    reset_transaction();
    return reply(250, "2.0.0", "Ok");
  }
  if (verb == "NOOP") return reply(250, "2.0.0", "Ok");
  if (verb == "QUIT") {
    reply(221, "2.0.0", "Bye");
    closed_ = true;
    out_.close = true;
    reset_transaction();
    return;
  }
  if (verb == "VRFY") return reply(252, "2.5.0", "Cannot VRFY user, but will accept message");
  if (verb == "HELP") return reply(214, "2.0.0", "See RFC 5321");
  if (verb == "EXPN") return bad_command(502, "5.5.1", "EXPN not supported");
  bad_command(500, "5.5.1", "Command unrecognized");
}

// ---- greeting and TLS -------------------------------------------------------

void SmtpSession::cmd_helo(std::string_view arg, bool ehlo) {
  // The name goes into the envelope (audit): printable ASCII only.
  const bool printable =
      std::all_of(arg.begin(), arg.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (arg.empty() || arg.size() > 255 || !printable)
    return bad_command(501, "5.5.4", ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  reset_transaction();
  helo_ = std::string(arg);
  ehlo_ = ehlo;
  if (!ehlo) return reply(250, "", settings_.hostname);

  const bool auth_offered = settings_.mode == ListenMode::Submission && settings_.tls_active;
  const bool starttls_offered = settings_.tls_offered && !settings_.tls_active;
  std::vector<std::string> caps = {settings_.hostname,
                                   "PIPELINING",
                                   "SIZE " + std::to_string(settings_.max_message_size),
                                   "8BITMIME",
                                   "SMTPUTF8",
                                   "ENHANCEDSTATUSCODES",
                                   "DSN"};
  if (starttls_offered) caps.emplace_back("STARTTLS");
  if (auth_offered) caps.emplace_back("AUTH PLAIN LOGIN");
  for (std::size_t i = 0; i < caps.size(); ++i) {
    out_.replies += i + 1 < caps.size() ? "250-" : "250 ";
    out_.replies += caps[i];
    out_.replies += "\r\n";
  }
}

void SmtpSession::cmd_starttls(std::string_view arg, bool more_input) {
  if (!arg.empty()) return bad_command(501, "5.5.4", "STARTTLS takes no arguments");
  if (settings_.tls_active) return bad_command(503, "5.5.1", "TLS already active");
  if (!settings_.tls_offered) return bad_command(502, "5.5.1", "STARTTLS not available");
  if (more_input) {
    // RFC 3207 §4.2 / CVE-2011-0411: anything sent before the handshake must
    // not be read as if it had been protected. Drop the connection.
    log::warn("smtp.refused",
              {{"class", "starttls_pipelining"}, {"client", settings_.client_addr}});
    return close_with(421, "4.7.0", "Unexpected data after STARTTLS");
  }
  reply(220, "2.0.0", "Ready to start TLS");
  tls_pending_ = true;
  out_.start_tls = true;
}

// ---- AUTH -------------------------------------------------------------------

void SmtpSession::cmd_auth(std::string_view arg) {
  if (settings_.mode != ListenMode::Submission)
    return bad_command(502, "5.5.1", "AUTH not available");
  if (!settings_.tls_active)
    return refuse(538, "5.7.11", "Encryption required for requested authentication mechanism",
                  "auth_without_tls");
  if (!ehlo_) return bad_command(503, "5.5.1", "Send EHLO first");
  if (!user_.empty()) return bad_command(503, "5.5.1", "Already authenticated");
  if (has_mail_) return bad_command(503, "5.5.1", "AUTH not allowed during a mail transaction");
  if (auth_ && !auth_->may_try(settings_.client_addr)) {
    // Checked before the password is even read: a guessing client gets no
    // answer about any password until its failures have aged out.
    log::warn("smtp.auth_throttled", {{"client", settings_.client_addr}});
    return close_with(421, "4.7.0", "Too many failed logins from your address, try again later");
  }

  const auto sp = arg.find(' ');
  std::string mech(arg.substr(0, sp));
  for (char& c : mech)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  const std::string_view initial =
      sp == std::string_view::npos ? std::string_view{} : arg.substr(sp + 1);
  if (initial.find(' ') != std::string_view::npos)
    return bad_command(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");

  if (mech == "PLAIN") {
    if (initial.empty()) {
      state_ = State::AuthPlain;
      return reply(334, "", "");
    }
    state_ = State::AuthPlain;
    return handle_auth_response(initial);
  }
  if (mech == "LOGIN") {
    if (initial.empty()) {
      state_ = State::AuthLoginUser;
      return reply(334, "", kUsernamePrompt);
    }
    state_ = State::AuthLoginUser;
    return handle_auth_response(initial);
  }
  bad_command(504, "5.5.4", "Unrecognized authentication type");
}

void SmtpSession::handle_auth_response(std::string_view line) {
  const State step = state_;
  state_ = State::Command;
  if (line == "*") return reply(501, "5.7.0", "Authentication cancelled");  // RFC 4954 §4

  // "=" is an empty initial response (RFC 4954 §4); nothing we accept is empty.
  std::optional<SecretString> decoded = line == "=" ? SecretString() : decode_base64(line);
  if (!decoded) return auth_failed(501, "5.5.2", "Cannot decode base64 response");

  if (step == State::AuthPlain) {
    auto creds = parse_plain(decoded->view());
    if (!creds) return auth_failed(535, "5.7.8", "Authentication credentials invalid");
    return start_password_check(std::move(creds->user), std::move(creds->password));
  }
  if (step == State::AuthLoginUser) {
    const std::string_view user = decoded->view();
    if (user.empty() || user.find('\0') != std::string_view::npos)
      return auth_failed(535, "5.7.8", "Authentication credentials invalid");
    auth_user_ = std::string(user);
    state_ = State::AuthLoginPassword;
    return reply(334, "", kPasswordPrompt);
  }
  // AuthLoginPassword
  if (decoded->empty() || decoded->view().find('\0') != std::string_view::npos)
    return auth_failed(535, "5.7.8", "Authentication credentials invalid");
  start_password_check(std::move(auth_user_), std::move(*decoded));
}

void SmtpSession::start_password_check(std::string user, SecretString password) {
  auth_user_ = std::move(user);
  auth_password_ = std::move(password);
  auth_ok_ = false;
  pending_ = Pending::Auth;
}

void SmtpSession::finish_auth() {
  auth_password_.clear();
  if (!auth_ok_) return auth_failed(535, "5.7.8", "Authentication credentials invalid");
  user_ = std::move(auth_user_);
  auth_user_.clear();
  log::info("smtp.auth", {{"user", user_}, {"client", settings_.client_addr}});
  reply(235, "2.7.0", "Authentication successful");
}

void SmtpSession::auth_failed(int code, std::string_view enhanced, std::string_view text) {
  state_ = State::Command;
  auth_user_.clear();  // never logged: people type passwords into the user field
  auth_password_.clear();
  ++auth_failures_;
  if (auth_ && code == 535) auth_->failed(settings_.client_addr);
  log::warn("smtp.auth_failed", {{"client", settings_.client_addr}, {"failures", auth_failures_}});
  if (auth_failures_ >= settings_.max_auth_failures)
    return close_with(421, "4.7.0", "Too many authentication failures");
  reply(code, enhanced, text);
}

// ---- mail transaction -------------------------------------------------------

void SmtpSession::cmd_mail(std::string_view line) {
  // Submission asks for AUTH first: that is the actionable answer, and AUTH
  // itself needs EHLO.
  if (settings_.mode == ListenMode::Submission && user_.empty())
    return refuse(530, "5.7.0", "Authentication required", "mail_without_auth");
  if (helo_.empty()) return bad_command(503, "5.5.1", "Send EHLO/HELO first");
  if (has_mail_) return bad_command(503, "5.5.1", "Nested MAIL command");
  if (!starts_with_nocase(line, "MAIL FROM:"))
    return bad_command(501, "5.5.4", "Syntax: MAIL FROM:<address>");

  auto path = parse_path(line.substr(10), /*allow_null=*/true);
  if (!path)
    return bad_command(path.error().smtp_code, path.error().enhanced, path.error().client_text);
  if (!ehlo_ && !path->params.empty() &&
      path->params.find_first_not_of(' ') != std::string_view::npos)
    return bad_command(555, "5.5.4", "Parameters need EHLO");
  auto params = parse_mail_params(path->params);
  if (!params)
    return bad_command(params.error().smtp_code, params.error().enhanced,
                       params.error().client_text);
  if (path->non_ascii && !params->smtputf8)
    return refuse(553, "5.6.7", "Non-ASCII address needs SMTPUTF8", "utf8_without_smtputf8");
  if (params->size && *params->size > settings_.max_message_size)
    return refuse(552, "5.3.4", "Message size exceeds fixed limit", "size_declared");

  if (settings_.mode == ListenMode::Submission) {
    // Staff never send bounces; a null sender from submission is a misuse.
    if (path->address.empty())
      return refuse(550, "5.7.1", "Null sender not allowed for submission", "null_sender");
    if (auth_ == nullptr || !auth_->may_send_as(user_, path->address))
      return refuse(550, "5.7.1", "Sender address not owned by authenticated user",
                    "sender_not_owned");
  }
  has_mail_ = true;
  mail_from_ = std::move(path->address);
  mail_params_ = std::move(*params);
  reply(250, "2.1.0", "Ok");
}

void SmtpSession::cmd_rcpt(std::string_view line) {
  if (!has_mail_) return bad_command(503, "5.5.1", "Need MAIL before RCPT");
  if (!starts_with_nocase(line, "RCPT TO:"))
    return bad_command(501, "5.5.4", "Syntax: RCPT TO:<address>");
  auto path = parse_path(line.substr(8), /*allow_null=*/false);
  if (!path)
    return bad_command(path.error().smtp_code, path.error().enhanced, path.error().client_text);
  if (!ehlo_ && path->params.find_first_not_of(' ') != std::string_view::npos)
    return bad_command(555, "5.5.4", "Parameters need EHLO");
  auto params = parse_rcpt_params(path->params);
  if (!params)
    return bad_command(params.error().smtp_code, params.error().enhanced,
                       params.error().client_text);
  if (path->non_ascii && !mail_params_.smtputf8)
    return refuse(553, "5.6.7", "Non-ASCII address needs SMTPUTF8", "utf8_without_smtputf8");
  for (const auto& r : rcpts_)
    if (r.address == path->address) return reply(250, "2.1.5", "Ok");  // deliver once
  if (rcpts_.size() >= settings_.max_recipients)
    return refuse(452, "4.5.3", "Too many recipients", "too_many_recipients");
  SpoolRecipient r;
  r.address = std::move(path->address);
  r.notify = std::move(params->notify);
  r.orcpt = std::move(params->orcpt);
  rcpts_.push_back(std::move(r));
  reply(250, "2.1.5", "Ok");
}

void SmtpSession::cmd_data(std::string_view arg) {
  if (!arg.empty()) return bad_command(501, "5.5.4", "DATA takes no arguments");
  if (!has_mail_) return bad_command(503, "5.5.1", "Need MAIL command");
  // RFC 2920 §3.1: with every RCPT refused a pipelined DATA gets 554.
  if (rcpts_.empty()) return bad_command(554, "5.5.1", "No valid recipients");

  auto writer = spool_.begin();
  if (!writer) {
    log::error("smtp.spool_begin_failed", {{"reason", writer.error().what()}});
    append_error_reply(out_.replies, writer.error());
    return reset_transaction();
  }
  writer_ = std::move(*writer);
  tx_id_ = random_token(8);
  const std::string header = received_header(
      settings_.mode == ListenMode::Filter ? "filter" : "submission", settings_.hostname,
      with_protocol(ehlo_, settings_.tls_active, !user_.empty(), mail_params_.smtputf8), tx_id_,
      std::time(nullptr));
  if (auto w = writer_->write(header); !w) write_error_ = w.error();
  stored_size_ = header.size();
  data_.emplace(settings_.max_message_size);
  state_ = State::Data;
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
}

std::size_t SmtpSession::consume_data(std::string_view in) {
  data_buf_.clear();
  const std::size_t used = data_->consume(in, data_buf_);
  if (!data_buf_.empty() && !write_error_ && data_->problem() == DataReader::Problem::None) {
    if (auto w = writer_->write(data_buf_); !w) {
      write_error_ = w.error();
    } else {
      stored_size_ += data_buf_.size();
    }
  }
  if (data_->done()) end_of_data();
  return used;
}

void SmtpSession::end_of_data() {
  state_ = State::Command;
  using Problem = DataReader::Problem;
  switch (data_->problem()) {
    case Problem::BareCr:
    case Problem::BareLf:
      refuse(550, "5.6.0", "Bare CR or LF in message not allowed, use CRLF line ends",
             "bare_line_ending");
      return reset_transaction();
    case Problem::LineTooLong:
      refuse(550, "5.6.0", "Message line longer than 998 characters", "line_too_long");
      return reset_transaction();
    case Problem::TooBig:
      refuse(552, "5.3.4", "Message size exceeds fixed limit", "size");
      return reset_transaction();
    case Problem::None:
      break;
  }
  if (write_error_) {
    log::error("smtp.spool_write_failed", {{"reason", write_error_->what()}});
    append_error_reply(out_.replies, *write_error_);
    return reset_transaction();
  }
  pending_ = Pending::Commit;  // the fsync happens in run_blocking_step()
}

void SmtpSession::finish_commit() {
  if (!commit_result_) {
    append_reply(out_.replies, 451, "4.3.0", "Local error, try again later");
    return reset_transaction();
  }
  if (!commit_result_->ok()) {
    log::error("smtp.commit_failed", {{"tx", tx_id_}, {"reason", commit_result_->error().what()}});
    append_error_reply(out_.replies, commit_result_->error());
    return reset_transaction();
  }
  const std::string id = commit_result_->value();
  log::info("smtp.queued", {{"id", id},
                            {"tx", tx_id_},
                            {"size", stored_size_},
                            {"rcpts", rcpts_.size()},
                            {"user", user_},
                            {"tls", settings_.tls_active ? "yes" : "no"},
                            {"listener", settings_.listener}});
  reply(250, "2.0.0", "Ok: queued as " + id);
  out_.queued_id = id;
  reset_transaction();
}

}  // namespace sealpost::smtp
