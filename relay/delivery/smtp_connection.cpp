#include "relay/delivery/smtp_connection.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <vector>

#include "common/durable_file.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "relay/delivery/dot_stuff.h"
#include "relay/delivery/tcp_connect.h"
#include "relay/delivery/tls_handshake.h"
#include "relay/delivery/tls_peer_verify.h"

namespace sealpost::delivery {
namespace {

constexpr std::size_t kMaxReplyLines = 200;
constexpr std::size_t kMaxReplyLineBytes = 4096;

Error lost(std::string reason) {
  return Error::make(421, "4.4.2", "Connection to smarthost lost", std::move(reason));
}

// A refusal of the session itself (greeting, EHLO, STARTTLS): it says the
// smarthost is unavailable or misconfigured for us, not that this message is
// unacceptable, so it is always temporary, even for 5xx (like Postfix's
// smtp_skip_5xx_greeting). Otherwise one 554 greeting would bounce every
// message in the queue as each one tries.
Error session_refused(const SmtpReply& r, std::string_view step) {
  std::string enhanced = r.enhanced;
  if (enhanced.empty())
    enhanced = "4.4.0";
  else
    enhanced[0] = '4';  // keep the smarthost's detail, downgrade its class
  return Error::make(451, enhanced, "Smarthost refused the session: " + r.text,
                     std::string(step) + " refused by smarthost: " + std::to_string(r.code) + " " +
                         r.text + " (will retry)");
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

// Holds a secret and wipes it when done.
struct Secret {
  std::string value;
  ~Secret() { OPENSSL_cleanse(value.data(), value.size()); }
};

Result<void> read_password(const std::string& path, Secret& out) {
  auto text = read_file(path, 4096);
  if (!text)
    return Error::make(454, "4.7.0", "Smarthost credentials unavailable", text.error().what());
  out.value = std::move(*text);
  while (!out.value.empty() && (out.value.back() == '\n' || out.value.back() == '\r'))
    out.value.pop_back();
  return {};
}

}  // namespace

Result<std::unique_ptr<SmtpConnection>> SmtpConnection::open(const SmarthostConfig& cfg,
                                                             const std::string& helo_name,
                                                             ConnectionAbort* abort) {
  if (cfg.tls == TlsMode::None) {
    if (!cfg.insecure)
      return Error::make(454, "4.7.0", "Smarthost TLS disabled without insecure: true",
                         "refusing plaintext smarthost connection");
    log::warn("smarthost.insecure", {{"host", cfg.host},
                                     {"port", cfg.port},
                                     {"warning", "TLS is OFF: mail and password travel in clear"}});
  }
  auto fd = tcp_connect(cfg.host, cfg.port, cfg.connect_timeout);
  if (!fd) return fd.error();

  std::unique_ptr<SmtpConnection> conn(new SmtpConnection(cfg));
  if (abort != nullptr) {  // from here on a stopping daemon can cut us short
    auto watch = abort->watch(fd->get());
    if (!watch) return watch.error();
    conn->abort_watch_ = std::move(*watch);
  }
  const auto handshake_timeout = static_cast<time_t>(cfg.connect_timeout.count());
  mailstream* stream = nullptr;
  TlsHandshake handshake(cfg.host);
  if (cfg.tls == TlsMode::Implicit) {
    stream = mailstream_ssl_open_with_callback_timeout(fd->get(), handshake_timeout,
                                                       TlsHandshake::callback, &handshake);
    if (stream == nullptr) return lost("TLS handshake with " + cfg.host + " failed");
    conn->encrypted_ = true;
  } else {
    stream = mailstream_socket_open_timeout(fd->get(), handshake_timeout);
    if (stream == nullptr) return lost("cannot create stream");
  }
  fd->release();  // the stream owns the descriptor now
  mailstream_low_set_timeout(mailstream_get_low(stream),
                             static_cast<time_t>(cfg.command_timeout.count()));

  conn->session_.reset(mailsmtp_new(0, nullptr));
  if (!conn->session_) {
    mailstream_close(stream);
    return lost("out of memory");
  }
  if (conn->encrypted_) {
    // Verify before the greeting is even read: nothing is exchanged with an
    // unverified peer or over an outdated protocol version.
    if (auto v = conn->verify_peer(stream, handshake); !v) {
      mailstream_close(stream);
      return v.error();
    }
  }
  // mailsmtp_connect takes the stream (closing it itself on failure) and reads the 220.
  const int rc = mailsmtp_connect(conn->session_.get(), stream);
  if (rc != MAILSMTP_NO_ERROR) {
    // A reply other than 220 (libetpan keeps its code and text): the
    // smarthost turned the session down, which is never the message's fault.
    const int code = conn->session_->response_code;
    if (code >= 400) {
      SmtpReply r{code, "", conn->session_->response ? conn->session_->response : "", {}};
      r.enhanced = enhanced_code_of(code, r.text);
      if (!r.enhanced.empty()) r.text.erase(0, std::min(r.text.size(), r.enhanced.size() + 1));
      return session_refused(r, "greeting");
    }
    return lost(std::string("greeting: ") + mailsmtp_strerror(rc));
  }
  if (auto g = conn->greet(helo_name); !g) return g.error();
  return conn;
}

SmtpConnection::~SmtpConnection() = default;  // mailsmtp_free sends QUIT and closes

Result<void> SmtpConnection::verify_peer(mailstream* stream, const TlsHandshake& handshake) {
  if (auto v = handshake.require_modern(mailstream_get_low(stream)); !v) return v;
  carray* chain = mailstream_get_certificate_chain(stream);
  if (chain == nullptr) return verify_peer_chain({}, cfg_.ca_file, cfg_.host);
  std::vector<std::string> der;
  for (unsigned i = 0; i < carray_count(chain); ++i) {
    const auto* s = static_cast<MMAPString*>(carray_get(chain, i));
    der.emplace_back(s->str, s->len);
  }
  mailstream_certificate_chain_free(chain);
  return verify_peer_chain(der, cfg_.ca_file, cfg_.host);
}

Result<void> SmtpConnection::greet(const std::string& helo_name) {
  auto ehlo = [&]() -> Result<void> {
    auto r = command("EHLO " + helo_name);
    if (!r) return r.error();
    if (r->code != 250) return session_refused(*r, "EHLO");
    extensions_.clear();
    auth_mechanisms_.clear();
    for (std::size_t i = 1; i < r->lines.size(); ++i) {  // line 0 is the greeting name
      const std::string line = upper(r->lines[i]);
      const std::string keyword = line.substr(0, line.find(' '));
      extensions_.insert(keyword);
      if (keyword == "AUTH") {
        std::size_t pos = 5;
        while (pos < line.size()) {
          const std::size_t end = std::min(line.find(' ', pos), line.size());
          if (end > pos) auth_mechanisms_.insert(line.substr(pos, end - pos));
          pos = end + 1;
        }
      }
    }
    return {};
  };
  if (auto r = ehlo(); !r) return r;
  if (cfg_.tls == TlsMode::StartTls) {
    if (auto t = start_tls(); !t) return t;
    if (auto r = ehlo(); !r) return r;  // RFC 3207: forget everything learned before TLS
  }
  if (!cfg_.username.empty()) return authenticate();
  return {};
}

Result<void> SmtpConnection::start_tls() {
  if (!has_extension("STARTTLS"))
    return Error::make(454, "4.7.0", "Smarthost does not offer STARTTLS",
                       "STARTTLS required by config but not offered");
  auto r = command("STARTTLS");
  if (!r) return r.error();
  if (r->code != 220) return session_refused(*r, "STARTTLS");
  mailstream* stream = session_->stream;
  // Anything already buffered was sent before TLS and could be an injection
  // (CVE-2011-0411 class): refuse rather than read it as if protected.
  if (stream->read_buffer_len != 0) return lost("data received after STARTTLS reply");
  mailstream_low* plain = mailstream_get_low(stream);
  const int fd = mailstream_low_get_fd(plain);
  TlsHandshake handshake(cfg_.host);
  mailstream_low* tls = mailstream_low_tls_open_with_callback_timeout(
      fd, static_cast<time_t>(cfg_.connect_timeout.count()), TlsHandshake::callback, &handshake);
  if (tls == nullptr) return lost("STARTTLS handshake with " + cfg_.host + " failed");
  mailstream_low_free(plain);  // frees the plain driver without closing fd
  mailstream_set_low(stream, tls);
  mailstream_low_set_timeout(tls, static_cast<time_t>(cfg_.command_timeout.count()));
  encrypted_ = true;
  return verify_peer(stream, handshake);
}

Result<void> SmtpConnection::authenticate() {
  if (!encrypted_ && !cfg_.insecure)
    return Error::make(454, "4.7.0", "Refusing AUTH without TLS", "AUTH over plaintext refused");
  Secret password;
  if (auto p = read_password(cfg_.password_file, password); !p) return p;
  auto auth_failed = [](const SmtpReply& r) {
    // Temporary even on 535: a wrong password is an admin fix, not the sender's fault.
    return Error::make(454, "4.7.0", "Smarthost authentication failed",
                       "AUTH refused: " + std::to_string(r.code) + " " + r.text);
  };
  if (auth_mechanisms_.count("PLAIN") != 0) {
    // Built in place with enough room reserved, so no reallocation leaves an
    // unwiped copy of the password behind in freed memory.
    Secret plain;
    plain.value.reserve(cfg_.username.size() + password.value.size() + 2);
    plain.value.push_back('\0');
    plain.value += cfg_.username;
    plain.value.push_back('\0');
    plain.value += password.value;
    Secret token{base64(plain.value)};
    Secret line;
    line.value.reserve(11 + token.value.size());
    line.value = "AUTH PLAIN ";
    line.value += token.value;
    auto r = command(line.value);
    if (!r) return r.error();
    if (r->code != 235) return auth_failed(*r);
    return {};
  }
  if (auth_mechanisms_.count("LOGIN") != 0) {
    auto r = command("AUTH LOGIN");
    if (!r) return r.error();
    if (r->code != 334) return auth_failed(*r);
    r = command(base64(cfg_.username));
    if (!r) return r.error();
    if (r->code != 334) return auth_failed(*r);
    Secret token{base64(password.value)};
    r = command(token.value);
    if (!r) return r.error();
    if (r->code != 235) return auth_failed(*r);
    return {};
  }
  return Error::make(454, "4.7.0", "Smarthost offers no supported AUTH mechanism",
                     "need AUTH PLAIN or LOGIN");
}

bool SmtpConnection::has_extension(std::string_view keyword) const {
  return extensions_.count(std::string(keyword)) != 0;
}

Result<void> SmtpConnection::write_line(std::string_view line) {
  if (line.find_first_of("\r\n") != std::string_view::npos)
    return Error::perm("5.5.2", "Invalid characters in envelope", "CR/LF in SMTP command refused");
  mailstream* s = session_->stream;
  if (mailstream_write(s, line.data(), line.size()) < 0 || mailstream_write(s, "\r\n", 2) < 0 ||
      mailstream_flush(s) < 0)
    return lost("write failed");
  return {};
}

// Reads one reply line with a hard length bound. libetpan's own line reader
// grows its buffer until it sees LF, which would let a broken or hostile peer
// exhaust memory; mailstream_read() of one byte is a copy from its buffer.
Result<std::string> SmtpConnection::read_line() {
  std::string line;
  while (true) {
    char c = 0;
    const ssize_t n = mailstream_read(session_->stream, &c, 1);
    if (n != 1) return lost("connection closed or timed out while reading reply");
    if (c == '\n') break;
    if (line.size() >= kMaxReplyLineBytes) return lost("oversized reply line");
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<SmtpReply> SmtpConnection::read_reply() {
  std::vector<ReplyLine> lines;
  std::deque<std::string> storage;  // ReplyLine::text points into these (stable addresses)
  while (true) {
    if (storage.size() >= kMaxReplyLines) return lost("reply has too many lines");
    auto line = read_line();
    if (!line) return line.error();
    storage.push_back(std::move(*line));
    auto parsed = parse_reply_line(storage.back());
    if (!parsed) return lost("malformed reply line");
    lines.push_back(*parsed);
    if (!parsed->more) break;
  }
  SmtpReply reply = assemble_reply(lines);
  if (reply.code == 0) return lost("inconsistent multi-line reply");
  return reply;
}

Result<SmtpReply> SmtpConnection::command(std::string_view line) {
  if (auto w = write_line(line); !w) return w.error();
  return read_reply();
}

Result<SmtpReply> SmtpConnection::send_data(const Body& data) {
  mailstream* s = session_->stream;
  // Dot-stuffed output is collected into large writes: mailstream_write() of
  // a piece bigger than its own buffer goes to the socket directly, so a 50 KB
  // message leaves in one or two system calls instead of one per buffer fill.
  constexpr std::size_t kChunk = 64u << 10;
  std::string out;
  out.reserve(kChunk + 1024);
  auto write = [&](std::string_view piece) {
    out.append(piece);
    if (out.size() < kChunk) return true;
    const bool ok = mailstream_write(s, out.data(), out.size()) >= 0;
    out.clear();
    return ok;
  };
  DotStuffer stuffer;
  bool written = true;
  auto read = data.visit([&](std::string_view piece) {
    written = stuffer.feed(piece, write);
    return written;
  });
  if (!read) {
    // Never end a DATA phase we could not complete: without the final "." the
    // server discards the partial message. No QUIT either (it would be data).
    mailstream_close(session_->stream);
    session_->stream = nullptr;
    return Error::temp("4.3.0", "Local error in processing",
                       "reading the message failed during DATA: " + read.error().what());
  }
  if (!written || !stuffer.finish(write) ||
      (!out.empty() && mailstream_write(s, out.data(), out.size()) < 0) || mailstream_flush(s) < 0)
    return lost("write failed during DATA");
  return read_reply();
}

}  // namespace sealpost::delivery
