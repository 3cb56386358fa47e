// `sealpost queue ...` (cli/cmd_queue.cpp) against a real spool and config,
// including the SIGUSR1 that `flush` sends to a running sealpostd.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "common/durable_file.h"
#include "relay/spool/file_spool.h"
#include "tests/unit/spool/temp_dir.h"

using namespace sealpost;

// cli/main.cpp is not linked into tests: these record the one-line reason.
namespace sealpost::cli {
std::string last_error;
int fail(const std::string& reason) {
  last_error = reason;
  return kFailure;
}
int usage_error(const std::string& reason) {
  last_error = reason;
  return kUsage;
}
}  // namespace sealpost::cli

namespace {

struct Run {
  int rc;
  std::string out;
};

// Runs the verb with stdout captured in a file.
Run queue(const std::string& config, std::vector<std::string> args, bool json = false) {
  cli::Context ctx;
  ctx.config_path = config;
  ctx.json = json;
  ctx.args = std::move(args);
  std::fflush(stdout);
  char path[] = "/tmp/sealpost-cli-out-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(fd, STDOUT_FILENO);
  const int rc = cli::cmd_queue(ctx);
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(fd);
  auto out = read_file(path);
  ::unlink(path);
  return {rc, out ? *out : std::string()};
}

std::string write_config(const std::filesystem::path& dir) {
  std::ofstream(dir / "users.yaml") << "users: []\n";
  std::ofstream(dir / "policy.yaml") << "defaults: { methods: [plain] }\n";
  const auto path = dir / "sealpost.yaml";
  std::ofstream(path) << "state_dir: " << (dir / "state").string() << "\n"
                      << "hostname: relay.test\n"
                      << "listen:\n  - address: \"127.0.0.1:10025\"\n    mode: filter\n"
                      << "    trusted_networks: [\"127.0.0.0/8\"]\n"
                      << "smarthost: { host: 127.0.0.1, port: 2525, tls: none, insecure: true }\n"
                      << "policy: policy.yaml\nusers: users.yaml\n";
  return path.string();
}

std::string add_message(const std::filesystem::path& state, std::int64_t next_attempt) {
  auto spool = spool::FileSpool::open(state);
  REQUIRE(spool.ok());
  auto w = (*spool)->begin();
  REQUIRE((*w)->write("Subject: t\r\n\r\nSECRET-BODY\r\n").ok());
  SpoolEnvelope env;
  env.mail_from = "arzt@praxis.example";
  SpoolRecipient r;
  r.address = "p@example.org";
  r.next_attempt = next_attempt;
  r.attempts = 2;
  r.last_reply = "451 4.2.0 busy";
  env.rcpts.push_back(r);
  auto id = (*w)->commit(env);
  REQUIRE(id.ok());
  return *id;
}

}  // namespace

TEST_CASE("queue list, show and delete work on the spool; the body is never shown") {
  testing::TempDir dir;
  const auto config = write_config(dir.path());
  CHECK(queue(config, {"list"}).out == "queue is empty\n");
  const auto id = add_message(dir.path() / "state", 4102444800);

  auto listed = queue(config, {"list"});
  CHECK(listed.rc == cli::kOk);
  CHECK(listed.out.find(id) != std::string::npos);
  CHECK(listed.out.find("pending=1") != std::string::npos);
  auto json = queue(config, {"list"}, true);
  CHECK(json.out.find("\"id\": \"" + id + "\"") != std::string::npos);
  CHECK(json.out.find("\"next_attempt\": 4102444800") != std::string::npos);

  auto shown = queue(config, {"show", id});
  CHECK(shown.rc == cli::kOk);
  CHECK(shown.out.find("<p@example.org>  pending  attempts=2") != std::string::npos);
  CHECK(shown.out.find("451 4.2.0 busy") != std::string::npos);
  CHECK(shown.out.find("SECRET-BODY") == std::string::npos);
  auto shown_json = queue(config, {"show", id}, true);
  CHECK(shown_json.out.find("\"status\": \"pending\"") != std::string::npos);
  CHECK(shown_json.out.find("SECRET-BODY") == std::string::npos);

  CHECK(queue(config, {"delete", id}).rc == cli::kOk);
  CHECK(queue(config, {"delete", id}).rc == cli::kFailure);
  CHECK(queue(config, {"show", id}).rc == cli::kFailure);
  CHECK(queue(config, {"show", "../../etc/passwd"}).rc == cli::kFailure);
  CHECK(queue(config, {"list"}).out == "queue is empty\n");
}

TEST_CASE("queue usage errors exit 2") {
  testing::TempDir dir;
  const auto config = write_config(dir.path());
  CHECK(queue(config, {}).rc == cli::kUsage);
  CHECK(queue(config, {"bogus"}).rc == cli::kUsage);
  CHECK(queue(config, {"show"}).rc == cli::kUsage);
  CHECK(queue(config, {"list", "extra"}).rc == cli::kUsage);
  CHECK(queue((dir.path() / "missing.yaml").string(), {"list"}).rc == cli::kFailure);
}

TEST_CASE("queue flush makes recipients due and signals the running sealpostd") {
  testing::TempDir dir;
  const auto config = write_config(dir.path());
  const auto state = dir.path() / "state";
  const auto id = add_message(state, 4102444800);

  // A stand-in daemon: named "sealpostd", exits 0 only if SIGUSR1 arrives.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigset_t old;
  ::sigprocmask(SIG_BLOCK, &usr1, &old);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::prctl(PR_SET_NAME, "sealpostd");
    const timespec limit{10, 0};
    _exit(::sigtimedwait(&usr1, nullptr, &limit) == SIGUSR1 ? 0 : 1);
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ::usleep(100000);  // let the child set its name
  REQUIRE(write_file_durable(state / "sealpostd.pid", std::to_string(child) + "\n").ok());

  auto flushed = queue(config, {"flush"});
  int status = -1;
  ::waitpid(child, &status, 0);
  CHECK(flushed.rc == cli::kOk);
  CHECK(flushed.out.find("notified") != std::string::npos);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  auto spool = spool::FileSpool::open(state);
  CHECK((*spool)->load_envelope(id)->rcpts[0].next_attempt == 0);

  // A stale pid file (not a sealpostd) is never signalled.
  REQUIRE(write_file_durable(state / "sealpostd.pid", std::to_string(::getpid()) + "\n").ok());
  auto stale = queue(config, {"flush"});
  CHECK(stale.rc == cli::kOk);
  CHECK(stale.out.find("not running") != std::string::npos);
}

TEST_CASE("queue release makes held recipients pending again; only held ones") {
  testing::TempDir dir;
  const auto config = write_config(dir.path());
  const auto state = dir.path() / "state";
  const auto id = add_message(state, 4102444800);

  auto pending_only = queue(config, {"release", id});
  CHECK(pending_only.rc != cli::kOk);  // nothing held: says so on stderr

  {
    auto spool = spool::FileSpool::open(state);
    REQUIRE((*spool)
                ->modify(id,
                         [](SpoolEnvelope& env) {
                           env.rcpts[0].status = RcptStatus::Held;
                           env.rcpts[0].last_reply = "554 5.6.0 message structure refused";
                           return true;
                         })
                .ok());
  }
  auto listed = queue(config, {"list"});
  CHECK(listed.out.find("held=1") != std::string::npos);
  CHECK(listed.out.find("HELD") != std::string::npos);
  CHECK(queue(config, {"show", id}).out.find("held") != std::string::npos);

  auto released = queue(config, {"release", id});
  CHECK(released.rc == cli::kOk);  // no daemon running: it picks the change up at start
  CHECK(released.out.find("released 1 recipient") != std::string::npos);
  auto spool = spool::FileSpool::open(state);
  const auto env = (*spool)->load_envelope(id);
  CHECK(env->rcpts[0].status == RcptStatus::Pending);
  CHECK(env->rcpts[0].next_attempt == 0);

  CHECK(queue(config, {"release", "../etc"}).rc != cli::kOk);
  CHECK(queue(config, {"release"}).rc == 2);
}

TEST_CASE("envelopes rewritten by the CLI keep the owner the daemon gave them") {
  if (::geteuid() != 0) return;  // only root can give files away (and take them over)
  testing::TempDir dir;
  const auto config = write_config(dir.path());
  const auto state = dir.path() / "state";
  const auto id = add_message(state, 4102444800);
  const auto env_path = state / "spool" / "queue" / (id + ".env");
  REQUIRE(::chown(env_path.c_str(), 65534, 65534) == 0);  // as if sealpostd's user wrote it
  CHECK(queue(config, {"flush"}).rc == cli::kOk);
  struct stat st {};
  REQUIRE(::stat(env_path.c_str(), &st) == 0);
  CHECK(st.st_uid == 65534);
  CHECK(st.st_gid == 65534);
  CHECK((st.st_mode & 0777) == 0600);
}
