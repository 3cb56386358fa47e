// SmtpServer over real loopback sockets: STARTTLS + AUTH submission,
// implicit TLS, filter-mode network check, STARTTLS injection, limits,
// idle timeout and draining shutdown. Ports are bound as 0 and read back.
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <istream>
#include <mutex>
#include <thread>

#include "relay/server/server_state.h"
#include "relay/server/smtp_server.h"
#include "tests/unit/smtp/fake_spool.h"

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using namespace sealpost;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/sealpost-server-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// A self-signed certificate made with the openssl CLI, once per test run.
const TlsFiles& test_cert() {
  static TempDir dir;
  static TlsFiles files = [] {
    TlsFiles f{(dir.path / "cert.pem").string(), (dir.path / "key.pem").string()};
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=localhost -keyout " +
        f.key + " -out " + f.cert + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    return f;
  }();
  return files;
}

ListenerConfig listener(ListenMode mode, bool implicit_tls, bool with_tls,
                        std::vector<std::string> trusted = {}) {
  ListenerConfig l;
  l.host = "127.0.0.1";
  l.port = 0;
  l.mode = mode;
  l.implicit_tls = implicit_tls;
  if (with_tls) l.tls = test_cert();
  for (const auto& t : trusted) l.trusted_networks.push_back(*Cidr::parse(t));
  return l;
}

// Runs an SmtpServer on its own io_context threads for one test.
struct Harness {
  asio::io_context io;
  test::FakeSpool spool;
  std::shared_ptr<Config> config = std::make_shared<Config>();
  std::unique_ptr<server::SmtpServer> server;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> queued;
  std::vector<tcp::endpoint> endpoints;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::atomic<int> tls_failures{0};
  std::shared_ptr<const auth::UserDirectory> users;

  Harness() {
    config->hostname = "relay.test";
    config->listen = {listener(ListenMode::Submission, false, true),
                      listener(ListenMode::Submission, true, true),
                      listener(ListenMode::Filter, false, false, {"127.0.0.0/8"}),
                      listener(ListenMode::Filter, false, false, {"10.0.0.0/8"})};
    for (std::size_t i = 0; i < config->listen.size(); ++i)
      config->listen[i].address = "listener-" + std::to_string(i);  // unique keys
    config->limits.max_message_size = 100000;
  }
  void start() {
    auto hash = auth::hash_password("s3cret", {1, 1024, 1});
    auto parsed = auth::UserDirectory::parse("users:\n  - name: anna\n    password: \"" + *hash +
                                                 "\"\n    addresses: [anna@praxis.example]\n",
                                             "users.yaml");
    REQUIRE(parsed.ok());
    users = std::make_shared<auth::UserDirectory>(std::move(*parsed));
    server = std::make_unique<server::SmtpServer>(io, config, spool, users,
                                                  [this](const std::string& id) {
                                                    std::lock_guard lock(mu);
                                                    queued.push_back(id);
                                                  });
    server->on_tls_failure([this] { ++tls_failures; });
    auto started = server->start();
    REQUIRE(started.ok());
    endpoints = server->local_endpoints();
    work.emplace(io.get_executor());
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~Harness() {
    if (server) server->shutdown(std::chrono::seconds(0));
    work.reset();
    for (auto& t : threads) t.join();
  }
  std::size_t queued_count() {
    std::lock_guard lock(mu);
    return queued.size();
  }
  std::shared_ptr<const auth::UserDirectory> server_users() { return users; }
};

// A blocking test client, plain first and TLS after upgrade().
struct Client {
  asio::io_context io;
  ssl::context ctx{ssl::context::tls_client};
  tcp::socket sock{io};
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  asio::streambuf buf;

  explicit Client(const tcp::endpoint& ep, bool implicit = false) {
    ctx.set_verify_mode(ssl::verify_none);  // self-signed test certificate
    sock.connect(ep);
    if (implicit) upgrade();
  }
  void upgrade() {
    tls = std::make_unique<ssl::stream<tcp::socket&>>(sock, ctx);
    tls->handshake(ssl::stream_base::client);
  }
  void send(const std::string& s) {
    if (tls)
      asio::write(*tls, asio::buffer(s));
    else
      asio::write(sock, asio::buffer(s));
  }
  // Reads one complete (possibly multi-line) reply; "" on EOF.
  std::string reply() {
    std::string all;
    for (;;) {
      boost::system::error_code ec;
      if (tls)
        asio::read_until(*tls, buf, "\r\n", ec);
      else
        asio::read_until(sock, buf, "\r\n", ec);
      if (ec) return all;
      std::istream in(&buf);
      std::string line;
      std::getline(in, line);
      all += line + "\n";
      if (line.size() < 4 || line[3] == ' ') return all;
    }
  }
  int code(const std::string& line) {
    send(line + "\r\n");
    auto r = reply();
    return r.size() >= 3 ? std::stoi(r.substr(0, 3)) : -1;
  }
};

}  // namespace

TEST_CASE("submission over STARTTLS with AUTH queues a message") {
  Harness h;
  h.start();
  Client c(h.endpoints[0]);
  CHECK(c.reply().rfind("220 relay.test", 0) == 0);
  c.send("EHLO client.test\r\n");
  std::string caps = c.reply();
  CHECK(caps.find("STARTTLS") != std::string::npos);
  CHECK(caps.find("AUTH") == std::string::npos);
  CHECK(c.code("MAIL FROM:<anna@praxis.example>") == 530);
  CHECK(c.code("STARTTLS") == 220);
  c.upgrade();
  c.send("EHLO client.test\r\n");
  CHECK(c.reply().find("AUTH PLAIN LOGIN") != std::string::npos);
  CHECK(c.code("AUTH PLAIN AGFubmEAczNjcmV0") == 235);
  CHECK(c.code("MAIL FROM:<anna@praxis.example>") == 250);
  CHECK(c.code("RCPT TO:<p@patient.example>") == 250);
  CHECK(c.code("DATA") == 354);
  c.send("Subject: hi\r\n\r\nhello\r\n.\r\n");
  std::string queued = c.reply();
  CHECK(queued.rfind("250 2.0.0 Ok: queued as Q1", 0) == 0);
  CHECK(c.code("QUIT") == 221);
  REQUIRE(h.spool.committed.size() == 1);
  CHECK(h.spool.committed[0].envelope.auth_user == "anna");
  CHECK(h.spool.committed[0].envelope.client_addr == "127.0.0.1");
  CHECK(h.queued_count() == 1);
}

TEST_CASE("implicit TLS listener offers AUTH at once") {
  Harness h;
  h.start();
  Client c(h.endpoints[1], /*implicit=*/true);
  CHECK(c.reply().rfind("220 ", 0) == 0);
  c.send("EHLO client.test\r\n");
  std::string caps = c.reply();
  CHECK(caps.find("AUTH PLAIN LOGIN") != std::string::npos);
  CHECK(caps.find("STARTTLS") == std::string::npos);
  CHECK(c.code("AUTH PLAIN AGFubmEAd3Jvbmc=") == 535);
}

TEST_CASE("filter listener: trusted networks only") {
  Harness h;
  h.start();
  Client ok(h.endpoints[2]);
  CHECK(ok.reply().rfind("220 ", 0) == 0);
  CHECK(ok.code("EHLO postfix") == 250);
  CHECK(ok.code("MAIL FROM:<>") == 250);

  Client refused(h.endpoints[3]);
  CHECK(refused.reply().rfind("554 5.7.1", 0) == 0);
  CHECK(refused.reply().empty());  // closed
}

TEST_CASE("bytes pipelined after STARTTLS close the connection") {
  Harness h;
  h.start();
  Client c(h.endpoints[0]);
  c.reply();
  c.code("EHLO x");
  c.send("STARTTLS\r\nAUTH PLAIN AGFubmEAczNjcmV0\r\n");
  CHECK(c.reply().rfind("421", 0) == 0);
  CHECK(c.reply().empty());
}

TEST_CASE("connection limits") {
  Harness h;
  h.config->limits.max_connections = 2;
  h.start();
  Client a(h.endpoints[2]);
  CHECK(a.reply().rfind("220", 0) == 0);
  Client b(h.endpoints[2]);
  CHECK(b.reply().rfind("220", 0) == 0);
  Client c(h.endpoints[2]);
  CHECK(c.reply().rfind("421 4.7.0", 0) == 0);
  CHECK(h.server->active_sessions() == 2);
}

TEST_CASE("idle timeout answers 421 4.4.2") {
  Harness h;
  h.config->limits.idle_timeout = std::chrono::seconds(1);
  h.start();
  Client c(h.endpoints[2]);
  c.reply();
  CHECK(c.reply().rfind("421 4.4.2", 0) == 0);
  CHECK(c.reply().empty());
}

TEST_CASE("a command line dripped byte by byte is cut at idle_timeout (slowloris)") {
  Harness h;
  h.config->limits.idle_timeout = std::chrono::seconds(1);
  h.start();
  Client c(h.endpoints[2]);
  c.reply();
  // Every read arrives well inside the idle timeout; the line as a whole does not.
  const auto start = std::chrono::steady_clock::now();
  std::string got;
  for (int i = 0; i < 40 && got.empty(); ++i) {
    boost::system::error_code ec;
    asio::write(c.sock, asio::buffer(std::string("E")), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c.sock.non_blocking(true);
    char buf[256];
    std::size_t n = c.sock.read_some(asio::buffer(buf), ec);
    if (!ec) got.assign(buf, n);
    c.sock.non_blocking(false);
  }
  CHECK(got.rfind("421 4.4.2", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500));
}

TEST_CASE("answered commands restart the per-line deadline") {
  Harness h;
  h.config->limits.idle_timeout = std::chrono::seconds(1);
  h.start();
  Client c(h.endpoints[2]);
  c.reply();
  // Three commands, each complete within the timeout: 2.1 s in all, never cut.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    CHECK(c.code("NOOP") == 250);
  }
}

TEST_CASE("shutdown: idle sessions get 421 4.3.2, DATA in flight may finish") {
  Harness h;
  h.start();
  Client idle(h.endpoints[2]);
  idle.reply();
  Client busy(h.endpoints[2]);
  busy.reply();
  busy.code("EHLO x");
  busy.code("MAIL FROM:<>");
  busy.code("RCPT TO:<a@b.example>");
  CHECK(busy.code("DATA") == 354);
  busy.send("Subject: partial\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  h.server->shutdown(std::chrono::seconds(5));
  CHECK(idle.reply().rfind("421 4.3.2", 0) == 0);
  busy.send("\r\nbody\r\n.\r\n");
  CHECK(busy.reply().rfind("250 2.0.0", 0) == 0);
  CHECK(busy.reply().rfind("421 4.3.2", 0) == 0);
  CHECK(h.spool.committed.size() == 1);
  // No new connections once stopped.
  tcp::socket late(idle.io);
  boost::system::error_code ec;
  late.connect(h.endpoints[2], ec);
  if (!ec) {
    asio::streambuf b;
    asio::read_until(late, b, "\r\n", ec);
    CHECK(ec);  // refused or closed without a greeting
  }
}

TEST_CASE("start fails naming the listener that cannot bind") {
  Harness first;
  first.start();
  Harness second;
  second.config->listen.resize(1);
  second.config->listen[0].port = first.endpoints[0].port();
  second.config->listen[0].address = "127.0.0.1:" + std::to_string(first.endpoints[0].port());
  server::SmtpServer s(second.io, second.config, second.spool, nullptr, {});
  auto r = s.start();
  REQUIRE(!r.ok());
  CHECK(r.error().what().find(second.config->listen[0].address) != std::string::npos);
}

TEST_CASE("per-client connection limit") {
  Harness h;
  h.config->limits.max_connections_per_client = 1;
  h.start();
  Client a(h.endpoints[2]);
  CHECK(a.reply().rfind("220", 0) == 0);
  Client b(h.endpoints[2]);
  CHECK(b.reply().rfind("421 4.7.0", 0) == 0);
}

TEST_CASE("the whole DATA phase has a deadline") {
  Harness h;
  h.config->limits.data_timeout = std::chrono::seconds(1);
  h.start();
  Client c(h.endpoints[2]);
  c.reply();
  c.code("EHLO x");
  c.code("MAIL FROM:<>");
  c.code("RCPT TO:<a@b.example>");
  CHECK(c.code("DATA") == 354);
  // A slow drip: each line well within the idle timeout, the total not.
  std::string got;
  for (int i = 0; i < 30 && got.empty(); ++i) {
    boost::system::error_code ec;
    asio::write(c.sock, asio::buffer(std::string("line\r\n")), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c.sock.non_blocking(true);
    char buf[256];
    std::size_t n = c.sock.read_some(asio::buffer(buf), ec);
    if (!ec) got.assign(buf, n);
    c.sock.non_blocking(false);
  }
  CHECK(got.rfind("421 4.4.2", 0) == 0);
  CHECK(h.spool.committed.empty());
}

TEST_CASE("reload: new sessions see new users, running ones keep theirs") {
  Harness h;
  h.start();
  Client before(h.endpoints[1], /*implicit=*/true);
  before.reply();
  before.code("EHLO x");

  auto hash = auth::hash_password("neu", {1, 1024, 1});
  auto users = auth::UserDirectory::parse("users:\n  - name: bert\n    password: \"" + *hash +
                                              "\"\n    addresses: [bert@praxis.example]\n",
                                          "users.yaml");
  REQUIRE(users.ok());
  REQUIRE(
      h.server->reload(h.config, std::make_shared<auth::UserDirectory>(std::move(*users))).ok());

  CHECK(before.code("AUTH PLAIN AGFubmEAczNjcmV0") == 235);  // anna, old directory
  Client after(h.endpoints[1], /*implicit=*/true);
  after.reply();
  after.code("EHLO x");
  CHECK(after.code("AUTH PLAIN AGFubmEAczNjcmV0") == 535);  // anna is gone
  CHECK(after.code("AUTH PLAIN AGJlcnQAbmV1") == 235);      // \0bert\0neu
}

TEST_CASE("per-client connection limit counts an IPv6 /64 as one client") {
  // ::1 is the only IPv6 loopback address, so the admission logic is tested
  // in-process with the addresses an attacker holding one /64 would use.
  asio::io_context io;
  test::FakeSpool spool;
  asio::thread_pool commits(1);
  asio::thread_pool passwords(1);
  server::ServerState state(io, spool, commits, passwords);
  LimitsConfig limits;
  limits.max_connections = 100;
  limits.max_connections_per_client = 2;
  using Admit = server::ServerState::Admit;

  CHECK(state.try_admit("2001:db8:1:2::1", limits) == Admit::Ok);
  CHECK(state.try_admit("2001:db8:1:2::ffff:1", limits) == Admit::Ok);
  CHECK(state.try_admit("2001:db8:1:2:abcd::9", limits) == Admit::TooManyFromClient);
  CHECK(state.try_admit("2001:db8:1:3::1", limits) == Admit::Ok);  // the next /64
  CHECK(state.try_admit("192.0.2.7", limits) == Admit::Ok);
  CHECK(state.try_admit("::ffff:192.0.2.7", limits) == Admit::Ok);  // the same IPv4 client
  CHECK(state.try_admit("192.0.2.7", limits) == Admit::TooManyFromClient);
  // A slot freed under one address of the /64 is free for any other.
  state.release("2001:db8:1:2::ffff:1");
  CHECK(state.try_admit("2001:db8:1:2::77", limits) == Admit::Ok);
  CHECK(state.active() == 5);
  commits.join();
  passwords.join();
}

TEST_CASE("failed inbound TLS handshakes are reported (metrics)") {
  Harness h;
  h.start();
  {
    Client plain(h.endpoints[1]);  // implicit-TLS port, but no handshake: garbage instead
    plain.send("EHLO not-tls\r\n");
    CHECK(plain.reply().empty());  // closed without an SMTP answer
  }
  Client good(h.endpoints[1], /*implicit=*/true);
  CHECK(good.reply().rfind("220", 0) == 0);
  for (int i = 0; i < 100 && h.tls_failures.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(h.tls_failures.load() == 1);
}

TEST_CASE("reload is all or nothing: a broken certificate changes nothing") {
  Harness h;
  h.start();
  auto hash = auth::hash_password("neu", {1, 1024, 1});
  auto users = auth::UserDirectory::parse("users:\n  - name: bert\n    password: \"" + *hash +
                                              "\"\n    addresses: [bert@praxis.example]\n",
                                          "users.yaml");
  REQUIRE(users.ok());
  auto broken = std::make_shared<Config>(*h.config);
  broken->listen[1].tls->cert = "/nonexistent/cert.pem";
  broken->limits.auth_failures_per_client = 1;
  auto r = h.server->reload(broken, std::make_shared<auth::UserDirectory>(std::move(*users)));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().what().find("listener listener-1") != std::string::npos);
  CHECK(r.error().what().find("/nonexistent/cert.pem") != std::string::npos);

  // Still the old users, the old certificate and the old AUTH-failure limit.
  Client c(h.endpoints[1], /*implicit=*/true);
  c.reply();
  c.code("EHLO x");
  CHECK(c.code("AUTH PLAIN AGFubmEAd3Jvbmc=") == 535);  // anna, wrong password
  CHECK(c.code("AUTH PLAIN AGFubmEAczNjcmV0") == 235);  // anna, old directory
}

TEST_CASE("reload changes the AUTH-failure limit per client and keeps the counts") {
  Harness h;
  h.config->limits.auth_failures_per_client = 10;
  h.start();
  {
    Client c(h.endpoints[1], /*implicit=*/true);
    c.reply();
    c.code("EHLO x");
    CHECK(c.code("AUTH PLAIN AGFubmEAd3Jvbmc=") == 535);  // one failure counted
  }
  auto lower = std::make_shared<Config>(*h.config);
  lower->limits.auth_failures_per_client = 1;
  REQUIRE(h.server->reload(lower, h.server_users()).ok());
  Client c(h.endpoints[1], /*implicit=*/true);
  c.reply();
  c.code("EHLO x");
  CHECK(c.code("AUTH PLAIN AGFubmEAczNjcmV0") == 421);  // throttled before any password check
}
