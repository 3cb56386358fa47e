// plan_reload: which changes a SIGHUP applies, keeps for a restart, or refuses.
#include "relay/reload_check.h"

#include <catch2/catch.hpp>
#include <functional>

using namespace sealpost;

namespace {

Config base() {
  Config c;
  c.state_dir = "/var/lib/sealpost";
  ListenerConfig l;
  l.address = "127.0.0.1:10025";
  l.host = "127.0.0.1";
  l.port = 10025;
  l.mode = ListenMode::Filter;
  c.listen.push_back(l);
  l.address = "127.0.0.1:587";
  l.port = 587;
  l.mode = ListenMode::Submission;
  l.tls = TlsFiles{"/etc/sealpost/tls/old.pem", "/etc/sealpost/tls/old.key"};
  c.listen.push_back(l);
  c.queue.workers = 4;
  return c;
}

}  // namespace

TEST_CASE("reload: ordinary settings are applied") {
  Config next = base();
  next.hostname = "relay2.praxis.example";
  next.limits.auth_failures_per_client = 3;
  next.smarthost.host = "mail2.provider.example";
  next.listen[1].tls->cert = "/etc/sealpost/tls/new.pem";
  auto plan = plan_reload(base(), next);
  REQUIRE(plan.ok());
  CHECK(plan->needs_restart.empty());
  CHECK(plan->applied.hostname == "relay2.praxis.example");
  CHECK(plan->applied.limits.auth_failures_per_client == 3);
  CHECK(plan->applied.smarthost.host == "mail2.provider.example");
  CHECK(plan->applied.listen[1].tls->cert == "/etc/sealpost/tls/new.pem");
}

TEST_CASE("reload: the spool key and the state directory are refused") {
  Config next = base();
  next.queue.spool_key = "/etc/sealpost/spool.key.new";
  auto plan = plan_reload(base(), next);
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.error().what().find("queue.spool_key changed ((default) -> "
                                 "/etc/sealpost/spool.key.new)") == 0);
  CHECK(plan.error().what().find("only with a restart") != std::string::npos);

  next = base();
  next.queue.spool_old_keys = {"/etc/sealpost/spool.key.old"};
  CHECK_FALSE(plan_reload(base(), next).ok());

  next = base();
  next.state_dir = "/srv/sealpost";
  auto moved = plan_reload(base(), next);
  REQUIRE_FALSE(moved.ok());
  CHECK(moved.error().what().find("state_dir changed") == 0);
}

TEST_CASE("reload: restart-only settings keep their running values and are named") {
  Config next = base();
  next.queue.workers = 16;
  next.limits.max_message_size = 100u << 20;
  next.keystore.trust_anchors = {"/etc/sealpost/smime-ca/"};
  next.limits.max_recipients = 7;  // applied
  auto plan = plan_reload(base(), next);
  REQUIRE(plan.ok());
  CHECK(plan->needs_restart ==
        std::vector<std::string>{"queue.workers", "limits.max_message_size", "keystore"});
  CHECK(plan->applied.queue.workers == 4);
  CHECK(plan->applied.limits.max_message_size == base().limits.max_message_size);
  CHECK(plan->applied.keystore.trust_anchors.empty());
  CHECK(plan->applied.limits.max_recipients == 7);
}

TEST_CASE("reload: every imap and keystore key is restart-only, none silently applied") {
  Config running = base();
  ImapAccountConfig a;
  a.host = "imap.praxis.example";
  a.username = "praxis";
  running.imap.push_back(a);
  running.keystore.domain_signers = {"praxis@praxis.example"};
  struct Change {
    const char* what;
    std::function<void(Config&)> apply;
    const char* key;
  };
  const Change changes[] = {
      {"imap[].key_change", [](Config& c) { c.imap[0].key_change = KeyChangePolicy::Auto; },
       "imap"},
      {"imap[].readable_folder", [](Config& c) { c.imap[0].readable_folder = "Readable"; }, "imap"},
      {"imap[].harvest", [](Config& c) { c.imap[0].harvest = HarvestPolicy::Never; }, "imap"},
      {"keystore.domain_signers", [](Config& c) { c.keystore.domain_signers.clear(); }, "keystore"},
      {"keystore.crl_dir", [](Config& c) { c.keystore.crl_dir = "/etc/sealpost/crl"; }, "keystore"},
  };
  for (const auto& change : changes) {
    INFO(change.what);
    Config next = running;
    change.apply(next);
    auto plan = plan_reload(running, next);
    REQUIRE(plan.ok());
    CHECK(plan->needs_restart == std::vector<std::string>{change.key});
    CHECK(plan->applied.imap == running.imap);  // what runs is what the config says
    CHECK(plan->applied.keystore == running.keystore);
  }
  auto same = plan_reload(running, running);
  REQUIRE(same.ok());
  CHECK(same->needs_restart.empty());
}

TEST_CASE("reload: listeners stay the bound ones, with their new settings") {
  Config next = base();
  next.listen.erase(next.listen.begin());  // 10025 removed
  next.listen[0].tls->cert = "/etc/sealpost/tls/new.pem";
  ListenerConfig added = next.listen[0];
  added.address = "127.0.0.1:465";
  added.port = 465;
  next.listen.push_back(added);
  auto plan = plan_reload(base(), next);
  REQUIRE(plan.ok());
  CHECK(plan->needs_restart == std::vector<std::string>{"listen (addresses)"});
  REQUIRE(plan->applied.listen.size() == 2);
  CHECK(plan->applied.listen[0].address == "127.0.0.1:10025");  // still bound: kept
  CHECK(plan->applied.listen[1].address == "127.0.0.1:587");
  CHECK(plan->applied.listen[1].tls->cert == "/etc/sealpost/tls/new.pem");
}
