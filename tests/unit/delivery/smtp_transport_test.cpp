// SmtpTransport against a real SMTP peer (aiosmtpd, smtp_peer.py) on loopback:
// TLS modes, certificate and host-name verification, AUTH, per-recipient replies.
#include "relay/delivery/smtp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/unit/spool/temp_dir.h"

extern char** environ;

using namespace sealpost;
using namespace sealpost::delivery;

namespace {

// Runs smtp_peer.py; kills and reaps it on destruction.
class Peer {
 public:
  Peer(const std::filesystem::path& dir, const std::string& mode, bool auth,
       bool idle_timeout = false, bool tls11 = false)
      : dir_(dir) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const std::string script = std::string(SEALPOST_TEST_SOURCE_DIR) + "/smtp_peer.py";
    std::vector<std::string> args{"/usr/bin/python3", script, dir.string(), mode};
    if (auth) args.emplace_back("--auth");
    if (idle_timeout) args.emplace_back("--idle-timeout");
    if (tls11) args.emplace_back("--tls11");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    REQUIRE(rc == 0);
    FILE* f = ::fdopen(out[0], "r");
    char line[32] = {};
    const bool got = f != nullptr && std::fgets(line, sizeof line, f) != nullptr;
    if (f) std::fclose(f);
    REQUIRE(got);
    port_ = static_cast<std::uint16_t>(std::stoi(line));
  }
  ~Peer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  std::uint16_t port() const { return port_; }
  std::string ca() const { return (dir_ / "ca.pem").string(); }
  std::string other_ca() const { return (dir_ / "other-ca.pem").string(); }
  std::string messages() const {
    std::ifstream in(dir_ / "messages.jsonl");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

SmarthostConfig smarthost(const Peer& peer, TlsMode tls, const std::string& host = "localhost") {
  SmarthostConfig cfg;
  cfg.host = host;
  cfg.port = peer.port();
  cfg.tls = tls;
  cfg.ca_file = peer.ca();
  cfg.connect_timeout = std::chrono::seconds(5);
  cfg.command_timeout = std::chrono::seconds(10);
  return cfg;
}

OutboundMessage message(std::vector<std::string> rcpts) {
  OutboundMessage m;
  m.mail_from = "arzt@praxis.example";
  m.eight_bit = true;
  for (auto& r : rcpts) m.rcpts.push_back(OutboundRecipient{r, "", ""});
  // A line starting with "." must survive dot-stuffing unchanged.
  m.data = "Subject: Befund\r\n\r\nline one\r\n.hidden dot line\r\nUMLAUT-\xc3\xa4\r\n";
  return m;
}

std::string write_password(const std::filesystem::path& dir, const std::string& pw) {
  auto path = dir / "smarthost.pass";
  std::ofstream(path) << pw << "\n";
  return path.string();
}

}  // namespace

TEST_CASE("STARTTLS + AUTH: verified, authenticated, per-recipient replies") {
  testing::TempDir dir;
  Peer peer(dir.path(), "starttls", true);
  auto cfg = smarthost(peer, TlsMode::StartTls);
  cfg.username = "praxis";
  cfg.password_file = write_password(dir.path(), "s3cret");
  SmtpTransport transport(cfg, "relay.test");
  auto result =
      transport.send(message({"ok@example.org", "reject@example.org", "tempfail@example.org"}));
  REQUIRE(result.ok());
  REQUIRE(result->size() == 3);
  for (const auto& o : *result) {
    INFO(o.address << " " << o.code << " " << o.reply);
    if (o.address == "ok@example.org") {
      CHECK(o.code == 250);
      CHECK(o.delivered());
    } else if (o.address == "reject@example.org") {
      CHECK(o.code == 550);
      CHECK(o.enhanced == "5.1.1");
    } else {
      CHECK(o.code == 451);
      CHECK(o.enhanced == "4.3.0");
    }
  }
  const auto log = peer.messages();
  CHECK(log.find("\"tls\": true") != std::string::npos);
  CHECK(log.find("\"auth\": true") != std::string::npos);
  CHECK(log.find("\"rcpts\": [\"ok@example.org\"]") != std::string::npos);
  CHECK(log.find("BODY=8BITMIME") != std::string::npos);
  CHECK(log.find("SIZE=") != std::string::npos);
  // Exact data: dot-stuffing undone by the peer, no extra line at the end.
  CHECK(log.find("\\r\\n.hidden dot line\\r\\nUMLAUT-\\u00e4\\r\\n\"") != std::string::npos);
}

TEST_CASE("implicit TLS with the right CA and host name delivers") {
  testing::TempDir dir;
  Peer peer(dir.path(), "implicit", false);
  SmtpTransport transport(smarthost(peer, TlsMode::Implicit), "relay.test");
  auto result = transport.send(message({"ok@example.org"}));
  REQUIRE(result.ok());
  REQUIRE(result->size() == 1);
  CHECK((*result)[0].code == 250);
  CHECK(peer.messages().find("\"tls\": true") != std::string::npos);
}

TEST_CASE("connections are reused for consecutive messages, not across a reconfigure") {
  testing::TempDir dir;
  Peer peer(dir.path(), "implicit", false);
  const auto cfg = smarthost(peer, TlsMode::Implicit);
  SmtpTransport transport(cfg, "relay.test");
  REQUIRE(transport.send(message({"ok@example.org"})).ok());
  REQUIRE(transport.send(message({"reject@example.org"})).ok());  // clean ending: RSET, reusable
  REQUIRE(transport.send(message({"ok@example.org"})).ok());
  transport.reconfigure(cfg, "relay.test");
  REQUIRE(transport.send(message({"ok@example.org"})).ok());

  std::vector<std::string> ports;
  std::istringstream lines(peer.messages());
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("\"client_port\": ");
    REQUIRE(at != std::string::npos);
    ports.push_back(line.substr(at + 15, line.find_first_of(",}", at) - at - 15));
  }
  REQUIRE(ports.size() == 3);
  CHECK(ports[0] == ports[1]);  // same TCP connection
  CHECK(ports[2] != ports[1]);  // new settings: new connection
}

TEST_CASE("a pooled connection the server closed meanwhile is replaced transparently") {
  testing::TempDir dir;
  Peer peer(dir.path(), "starttls", false, /*idle_timeout=*/true);
  SmtpTransport transport(smarthost(peer, TlsMode::StartTls), "relay.test");
  REQUIRE(transport.send(message({"ok@example.org"})).ok());
  ::usleep(1'800'000);  // the peer drops idle connections after 1 s
  auto again = transport.send(message({"ok@example.org"}));
  REQUIRE(again.ok());
  REQUIRE(again->size() == 1);
  CHECK((*again)[0].code == 250);
}

TEST_CASE("an untrusted CA or a wrong host name stops the attempt before any mail") {
  testing::TempDir dir;
  SECTION("implicit TLS, certificate from an unknown CA") {
    Peer peer(dir.path(), "implicit", false);
    auto cfg = smarthost(peer, TlsMode::Implicit);
    cfg.ca_file = peer.other_ca();
    auto result = SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"}));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().smtp_code == 454);
    CHECK(result.error().enhanced == "4.7.5");
    CHECK(result.error().temporary());
    CHECK(peer.messages().empty());
  }
  SECTION("implicit TLS, right CA but the certificate is not for this name") {
    Peer peer(dir.path(), "implicit", false);
    auto result = SmtpTransport(smarthost(peer, TlsMode::Implicit, "127.0.0.1"), "relay.test")
                      .send(message({"ok@example.org"}));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().enhanced == "4.7.5");
    CHECK(peer.messages().empty());
  }
  SECTION("STARTTLS, unknown CA: no AUTH, no password sent") {
    Peer peer(dir.path(), "starttls", true);
    auto cfg = smarthost(peer, TlsMode::StartTls);
    cfg.ca_file = peer.other_ca();
    cfg.username = "praxis";
    cfg.password_file = write_password(dir.path(), "s3cret");
    auto result = SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"}));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().enhanced == "4.7.5");
    CHECK(peer.messages().empty());
  }
}

TEST_CASE("a smarthost offering only TLS 1.0/1.1 is refused before any mail, temporarily") {
  testing::TempDir dir;
  auto check_refused = [](const Result<std::vector<RcptOutcome>>& result) {
    REQUIRE_FALSE(result.ok());
    INFO(result.error().what());
    CHECK(result.error().temporary());
    CHECK(result.error().smtp_code == 454);
    CHECK(result.error().enhanced == "4.7.5");
    CHECK(result.error().what().find("TLS1.1") != std::string::npos);
    CHECK(result.error().what().find("TLS 1.2 or newer") != std::string::npos);
  };
  SECTION("implicit TLS") {
    Peer peer(dir.path(), "implicit", false, false, /*tls11=*/true);
    check_refused(SmtpTransport(smarthost(peer, TlsMode::Implicit), "relay.test")
                      .send(message({"ok@example.org"})));
    CHECK(peer.messages().empty());
  }
  SECTION("STARTTLS: no AUTH, no password sent") {
    Peer peer(dir.path(), "starttls", true, false, /*tls11=*/true);
    auto cfg = smarthost(peer, TlsMode::StartTls);
    cfg.username = "praxis";
    cfg.password_file = write_password(dir.path(), "s3cret");
    check_refused(SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"})));
    CHECK(peer.messages().empty());
  }
}

TEST_CASE("a 5xx greeting or EHLO refusal defers instead of bouncing") {
  testing::TempDir dir;
  SECTION("554 greeting") {
    Peer peer(dir.path(), "greet554", false);
    auto cfg = smarthost(peer, TlsMode::None);
    cfg.insecure = true;
    auto result = SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"}));
    REQUIRE_FALSE(result.ok());
    INFO(result.error().what());
    CHECK(result.error().temporary());
    CHECK(result.error().smtp_code == 451);
    CHECK(result.error().enhanced == "4.3.2");  // the smarthost's 5.3.2, as a temporary status
    CHECK(result.error().what().find("greeting") != std::string::npos);
    CHECK(result.error().what().find("554") != std::string::npos);
    CHECK(result.error().what().find("no service for you") != std::string::npos);
    CHECK(peer.messages().empty());  // nothing but QUIT after the refusal
  }
  SECTION("550 to EHLO") {
    Peer peer(dir.path(), "ehlo550", false);
    auto cfg = smarthost(peer, TlsMode::None);
    cfg.insecure = true;
    auto result = SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"}));
    REQUIRE_FALSE(result.ok());
    INFO(result.error().what());
    CHECK(result.error().temporary());
    CHECK(result.error().smtp_code == 451);
    CHECK(result.error().enhanced == "4.7.1");
    CHECK(result.error().what().find("EHLO refused by smarthost: 550") != std::string::npos);
    CHECK(result.error().client_text.find("not allowed to use this smarthost") !=
          std::string::npos);
    CHECK(peer.messages().empty());  // no MAIL FROM after the refusal
  }
}

TEST_CASE("a wrong smarthost password defers instead of bouncing") {
  testing::TempDir dir;
  Peer peer(dir.path(), "starttls", true);
  auto cfg = smarthost(peer, TlsMode::StartTls);
  cfg.username = "praxis";
  cfg.password_file = write_password(dir.path(), "wrong");
  auto result = SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"}));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().temporary());
  CHECK(result.error().enhanced == "4.7.0");
  CHECK(result.error().reason.find("wrong") == std::string::npos);
}

TEST_CASE("plaintext only with insecure: true") {
  testing::TempDir dir;
  Peer peer(dir.path(), "none", false);
  auto cfg = smarthost(peer, TlsMode::None);
  auto refused = SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"}));
  REQUIRE_FALSE(refused.ok());
  CHECK(peer.messages().empty());
  cfg.insecure = true;
  auto sent = SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"}));
  REQUIRE(sent.ok());
  CHECK((*sent)[0].code == 250);
}

TEST_CASE("a refused connection is a temporary failure") {
  SmarthostConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 1;  // nothing listens on port 1 on loopback
  cfg.tls = TlsMode::None;
  cfg.insecure = true;
  cfg.connect_timeout = std::chrono::seconds(2);
  auto result = SmtpTransport(cfg, "relay.test").send(message({"ok@example.org"}));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().temporary());
  CHECK(result.error().enhanced == "4.4.1");
}

// Run by hand: ./delivery_tests "[.bench]" — messages/s into Postfix's smtp-sink
// (plaintext loopback, 50 KiB messages, one sender, pooled connections).
TEST_CASE("transport throughput into smtp-sink", "[.bench]") {
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::uint16_t port = ntohs(addr.sin_port);
  ::close(probe);  // smtp-sink cannot bind port 0 itself; a tiny race is fine for a bench
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  std::vector<std::string> args{"/usr/sbin/smtp-sink", "-u", "nobody", listen, "100"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
  ::usleep(300000);

  SmarthostConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = port;
  cfg.tls = TlsMode::None;
  cfg.insecure = true;
  SmtpTransport transport(cfg, "relay.test");
  auto msg = message({"ok@example.org"});
  msg.data = *msg.data.to_string(SIZE_MAX) + std::string(50 * 1024, 'x') + "\r\n";
  constexpr int kMessages = 500;
  int ok = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kMessages; ++i) {
    auto r = transport.send(msg);
    if (r && !r->empty() && (*r)[0].delivered()) ++ok;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  CHECK(ok == kMessages);
  std::printf("%d messages of 50 KiB in %.2fs: %.0f msg/s\n", kMessages, took.count(),
              kMessages / took.count());
}
