// Scenario helper: drives an SmtpSession like a client would and collects
// reply codes, so tests read like the protocol (OpenSMTPD smtpscript habit).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "relay/smtp/session.h"
#include "tests/unit/smtp/fake_spool.h"

namespace sealpost::test {

class FakeAuthenticator : public smtp::Authenticator {
 public:
  std::map<std::string, std::string> passwords{{"anna", "s3cret"}};
  std::map<std::string, std::set<std::string>> senders{{"anna", {"anna@praxis.example"}}};
  mutable int verify_calls = 0;
  bool verify(std::string_view user, std::string_view password) const override {
    ++verify_calls;
    auto it = passwords.find(std::string(user));
    return it != passwords.end() && it->second == password;
  }
  bool may_send_as(std::string_view user, std::string_view address) const override {
    auto it = senders.find(std::string(user));
    return it != senders.end() && it->second.count(std::string(address)) > 0;
  }
};

inline smtp::SessionSettings submission_settings() {
  smtp::SessionSettings s;
  s.hostname = "relay.test";
  s.mode = ListenMode::Submission;
  s.tls_offered = true;
  s.max_message_size = 10000;
  s.max_recipients = 3;
  s.max_auth_failures = 3;
  s.max_bad_commands = 10;
  s.listener = "127.0.0.1:587";
  s.client_addr = "192.0.2.7";
  return s;
}

inline smtp::SessionSettings filter_settings() {
  auto s = submission_settings();
  s.mode = ListenMode::Filter;
  s.tls_offered = false;
  s.listener = "127.0.0.1:10025";
  return s;
}

// The reply codes in a block of reply text, one per final reply line.
inline std::vector<int> reply_codes(std::string_view text) {
  std::vector<int> codes;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\r\n", pos);
    if (end == std::string_view::npos) break;
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() >= 3 && (line.size() == 3 || line[3] == ' '))
      codes.push_back(std::stoi(std::string(line.substr(0, 3))));
    pos = end + 2;
  }
  return codes;
}

struct Dialogue {
  FakeSpool spool;
  FakeAuthenticator auth;
  smtp::SmtpSession session;
  std::string transcript;  // every reply so far
  bool closed = false;
  bool start_tls = false;
  std::vector<std::string> queued;

  explicit Dialogue(smtp::SessionSettings s = submission_settings())
      : session(std::move(s), spool, &auth) {
    collect(session.greeting());
  }

  // Feeds raw bytes; runs blocking steps the way the server would. Returns
  // the replies produced by these bytes.
  std::string send(std::string_view bytes) {
    std::string got;
    auto out = session.feed(bytes);
    got += collect(std::move(out));
    while (last_blocked_) {
      session.run_blocking_step();
      got += collect(session.resume());
    }
    return got;
  }
  // One command line; returns its reply codes.
  std::vector<int> line(std::string_view l) { return reply_codes(send(std::string(l) + "\r\n")); }
  int code(std::string_view l) {
    auto c = line(l);
    return c.size() == 1 ? c[0] : -1;
  }

  void tls() {
    session.tls_started();
    start_tls = false;
  }
  // EHLO, STARTTLS, handshake, EHLO, AUTH PLAIN anna.
  void login() {
    line("EHLO client.test");
    line("STARTTLS");
    tls();
    line("EHLO client.test");
    line("AUTH PLAIN AGFubmEAczNjcmV0");  // \0anna\0s3cret
  }

 private:
  bool last_blocked_ = false;
  std::string collect(smtp::SessionOutput out) {
    transcript += out.replies;
    closed = closed || out.close;
    start_tls = start_tls || out.start_tls;
    last_blocked_ = out.blocked;
    if (!out.queued_id.empty()) queued.push_back(out.queued_id);
    return out.replies;
  }
};

}  // namespace sealpost::test
