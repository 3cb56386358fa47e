#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"
#include "config/config_keys.h"

using namespace sealpost;

namespace {

// A complete, valid file; tests replace or append lines to break it.
const std::string kValid = R"(state_dir: state
hostname: relay.praxis.example
listen:
  - address: "0.0.0.0:587"
    mode: submission
    tls: { cert: tls/cert.pem, key: /etc/ssl/key.pem }
  - address: "[::1]:10025"
    mode: filter
    trusted_networks: ["127.0.0.0/8", "::1/128"]
users: users.yaml
smarthost:
  host: mail.provider.example
  port: 587
  tls: starttls
  username: praxis@provider.example
  password_file: smarthost.pass
  connect_timeout: 10s
policy: policy.yaml
keystore:
  trust_anchors: [/etc/ssl/certs/ca-certificates.crt, smime-ca/]
  crl_dir: crl/
portal:
  public_url: https://pickup.praxis.example
  listen: "127.0.0.1:8443"
  trusted_proxies: ["127.0.0.1/32"]
imap:
  - host: imap.provider.example
    username: praxis@provider.example
    password_file: imap.pass
    folders: [INBOX, Archiv]
limits: { max_message_size: 25MiB, max_recipients: 50, idle_timeout: 2m }
queue: { retry_schedule: [10s, 1m], max_age: 2d, workers: 3 }
log: { level: debug, format: json }
)";

Result<Config> parse(const std::string& text) {
  return parse_config(text, "sealpost.yaml", "/etc/sealpost");
}

std::string error_of(const std::string& text) {
  auto r = parse(text);
  REQUIRE_FALSE(r.ok());
  return r.error().what();
}

// kValid with one line replaced (the old line must exist).
std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

}  // namespace

TEST_CASE("a complete config loads with every value and resolved paths") {
  auto r = parse(kValid);
  INFO((r.ok() ? "" : r.error().what()));
  REQUIRE(r.ok());
  const Config& c = *r;
  CHECK(c.source_path == "sealpost.yaml");
  CHECK(c.state_dir == "/etc/sealpost/state");
  CHECK(c.hostname == "relay.praxis.example");
  REQUIRE(c.listen.size() == 2);
  CHECK(c.listen[0].host == "0.0.0.0");
  CHECK(c.listen[0].port == 587);
  CHECK(c.listen[0].mode == ListenMode::Submission);
  REQUIRE(c.listen[0].tls.has_value());
  CHECK(c.listen[0].tls->cert == "/etc/sealpost/tls/cert.pem");
  CHECK(c.listen[0].tls->key == "/etc/ssl/key.pem");
  CHECK(c.listen[1].host == "::1");
  CHECK(c.listen[1].port == 10025);
  CHECK(c.listen[1].mode == ListenMode::Filter);
  CHECK(c.listen[1].trusted_networks.size() == 2);
  CHECK(c.users == "/etc/sealpost/users.yaml");
  CHECK(c.smarthost.host == "mail.provider.example");
  CHECK(c.smarthost.port == 587);
  CHECK(c.smarthost.tls == TlsMode::StartTls);
  CHECK(c.smarthost.password_file == "/etc/sealpost/smarthost.pass");
  CHECK(c.smarthost.connect_timeout == std::chrono::seconds(10));
  CHECK(c.smarthost.command_timeout == std::chrono::seconds(300));
  CHECK(c.policy == "/etc/sealpost/policy.yaml");
  CHECK(c.keystore.trust_anchors ==
        std::vector<std::string>{"/etc/ssl/certs/ca-certificates.crt", "/etc/sealpost/smime-ca/"});
  CHECK(c.keystore.crl_dir == "/etc/sealpost/crl/");
  REQUIRE(c.portal.has_value());
  CHECK(c.portal->public_url == "https://pickup.praxis.example");
  CHECK(c.portal->trusted_proxies.size() == 1);
  REQUIRE(c.imap.size() == 1);
  CHECK(c.imap[0].port == 993);
  CHECK(c.imap[0].password_file == "/etc/sealpost/imap.pass");
  CHECK(c.imap[0].folders == std::vector<std::string>{"INBOX", "Archiv"});
  CHECK(c.limits.max_message_size == 25ull * 1024 * 1024);
  CHECK(c.limits.max_recipients == 50);
  CHECK(c.limits.max_connections == 200);  // default kept
  CHECK(c.limits.idle_timeout == std::chrono::seconds(120));
  CHECK(c.queue.retry_schedule ==
        std::vector<std::chrono::seconds>{std::chrono::seconds(10), std::chrono::seconds(60)});
  CHECK(c.queue.max_age == std::chrono::seconds(2 * 86400));
  CHECK(c.queue.workers == 3);
  CHECK(c.log.level == "debug");
  CHECK(c.log.format == "json");
}

TEST_CASE("a minimal config gets the documented defaults") {
  auto r = parse(
      "hostname: relay.example\npolicy: /p.yaml\n"
      "listen: [{address: '127.0.0.1:10025', mode: filter, trusted_networks: [127.0.0.0/8]}]\n"
      "smarthost: {host: smtp.example}\n");
  INFO((r.ok() ? "" : r.error().what()));
  REQUIRE(r.ok());
  CHECK(r->state_dir == "/var/lib/sealpost");
  CHECK(r->smarthost.port == 465);
  CHECK(r->smarthost.tls == TlsMode::Implicit);
  CHECK_FALSE(r->portal.has_value());
  CHECK(r->queue.workers == 4);
  CHECK(r->log.level == "info");
}

TEST_CASE("each kind of mistake is reported with file and line") {
  struct Case {
    const char* what;
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"unknown top-level key", kValid + "colour: blue\n",
       "sealpost.yaml:34: unknown key 'colour' at top level"},
      {"unknown nested key", replace(kValid, "  port: 587\n", "  prot: 587\n"),
       "sealpost.yaml:13: unknown key 'prot' in 'smarthost'"},
      {"unknown key in listener tls", replace(kValid, "key: /etc/ssl/key.pem", "keyy: k"),
       "sealpost.yaml:6: unknown key 'keyy' in 'listen[].tls'"},
      {"duplicate key", kValid + "hostname: other.example\n",
       "sealpost.yaml:34: duplicate key 'hostname'"},
      {"port not a number", replace(kValid, "  port: 587\n", "  port: abc\n"),
       "sealpost.yaml:13: smarthost.port: expected a whole number from 1 to 65535, got 'abc'"},
      {"port out of range", replace(kValid, "  port: 587\n", "  port: 70000\n"),
       "sealpost.yaml:13:"},
      {"bad listen address", replace(kValid, "\"0.0.0.0:587\"", "\"0.0.0.0\""),
       "sealpost.yaml:4: listen[].address: '0.0.0.0' is not IP:PORT"},
      {"bare ipv6 address", replace(kValid, "\"[::1]:10025\"", "\"::1:10025\""),
       "sealpost.yaml:7: listen[].address"},
      {"listener on a host name", replace(kValid, "\"0.0.0.0:587\"", "\"localhost:587\""),
       "sealpost.yaml:4: listen[].address"},
      {"bad cidr", replace(kValid, "\"::1/128\"", "\"::1/129\""),
       "sealpost.yaml:9: listen[].trusted_networks: '::1/129' is not an IP network"},
      {"bad size", replace(kValid, "25MiB", "25 parsecs"),
       "sealpost.yaml:31: limits.max_message_size: expected a size"},
      {"bad duration", replace(kValid, "max_age: 2d", "max_age: soon"),
       "sealpost.yaml:32: queue.max_age: expected a duration"},
      {"bad enum", replace(kValid, "tls: starttls", "tls: maybe"),
       "sealpost.yaml:14: smarthost.tls: 'maybe' is not one of: implicit, starttls, none"},
      {"bad mode", replace(kValid, "mode: filter", "mode: relay"),
       "sealpost.yaml:8: listen[].mode: 'relay' is not one of: submission, filter"},
      {"wrong type: list for a string", replace(kValid, "users: users.yaml", "users: [a, b]"),
       "sealpost.yaml:10: users: expected a single value"},
      {"wrong type: scalar for a section",
       replace(kValid, "log: { level: debug, format: json }", "log: loud"),
       "sealpost.yaml:33: 'log' must be a mapping"},
      {"wrong type: bool", replace(kValid, "  connect_timeout: 10s\n", "  insecure: maybe\n"),
       "sealpost.yaml:17: smarthost.insecure: expected true or false"},
      {"empty retry schedule", replace(kValid, "retry_schedule: [10s, 1m]", "retry_schedule: []"),
       "sealpost.yaml:32: queue.retry_schedule"},
      {"log level", replace(kValid, "level: debug", "level: chatty"),
       "sealpost.yaml:33: log.level"},
      {"yaml syntax error",
       replace(kValid, "hostname: relay.praxis.example\n", "hostname: [relay\n"),
       "sealpost.yaml:3: YAML syntax error"},
      {"tab indentation / bad mapping", kValid + "queue2: : :\n", "sealpost.yaml:34:"},
      {"submission without tls",
       replace(kValid, "    tls: { cert: tls/cert.pem, key: /etc/ssl/key.pem }\n", ""),
       "sealpost.yaml:4: listen[]: a submission listener needs 'tls'"},
      {"filter without trusted networks",
       replace(kValid, "    trusted_networks: [\"127.0.0.0/8\", \"::1/128\"]\n", ""),
       "sealpost.yaml:7: listen[]: a filter listener needs 'trusted_networks'"},
      {"tls none without insecure",
       replace(
           kValid,
           "tls: starttls\n  username: praxis@provider.example\n  password_file: smarthost.pass\n",
           "tls: none\n"),
       "sealpost.yaml:14: smarthost.tls: 'none' sends mail unencrypted"},
      {"username without password file", replace(kValid, "  password_file: smarthost.pass\n", ""),
       "sealpost.yaml:12: smarthost: 'username' and 'password_file' go together"},
      {"http portal url",
       replace(kValid, "https://pickup.praxis.example", "http://pickup.praxis.example"),
       "sealpost.yaml:23: portal.public_url"},
      {"imap tls none", replace(kValid, "    folders: [INBOX, Archiv]\n", "    tls: none\n"),
       "sealpost.yaml:30: imap[].tls"},
      {"same address twice", replace(kValid, "\"[::1]:10025\"", "\"0.0.0.0:587\""),
       "sealpost.yaml:7: listen[].address: '0.0.0.0:587' is listed twice"},
      {"two documents", kValid + "---\nhostname: x.example\n",
       "sealpost.yaml: more than one YAML document"},
      {"missing hostname", replace(kValid, "hostname: relay.praxis.example\n", ""),
       "sealpost.yaml: missing required key 'hostname'"},
      {"missing smarthost host", replace(kValid, "  host: mail.provider.example\n", ""),
       "sealpost.yaml:12: smarthost: missing 'host'"},
      {"missing policy", replace(kValid, "policy: policy.yaml\n", ""),
       "sealpost.yaml: missing required key 'policy'"},
      {"no listeners",
       kValid.substr(0, kValid.find("listen:")) + "listen: []\n" +
           kValid.substr(kValid.find("users:")),
       "sealpost.yaml: 'listen' needs at least one listener"},
      {"empty file", "", "sealpost.yaml: the file is empty"},
      {"key without value", replace(kValid, "users: users.yaml", "users:"),
       "sealpost.yaml:10: 'users' at top level has no value"},
      {"not a mapping", "- a\n- b\n", "sealpost.yaml:1: expected a mapping of keys at top level"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    std::string err = error_of(c.text);
    INFO(err);
    CHECK(err.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("anchors and aliases as PyYAML writes them are accepted") {
  std::string text = replace(kValid, "tls: { cert: tls/cert.pem, key: /etc/ssl/key.pem }",
                             "tls: &tls { cert: tls/cert.pem, key: /etc/ssl/key.pem }");
  text = replace(text, "  trusted_proxies: [\"127.0.0.1/32\"]\n",
                 "  trusted_proxies: [\"127.0.0.1/32\"]\n  tls: *tls\n");
  auto r = parse(text);
  INFO((r.ok() ? "" : r.error().what()));
  REQUIRE(r.ok());
  REQUIRE(r->portal->tls.has_value());
  CHECK(r->portal->tls->cert == "/etc/sealpost/tls/cert.pem");
}

TEST_CASE("nesting and size are bounded") {
  std::string deep(100, '[');
  deep = "hostname: " + deep;
  CHECK(error_of(deep).find("sealpost.yaml:1:") != std::string::npos);
  std::string huge = kValid + "# " + std::string(2u << 20, 'x') + "\n";
  CHECK(error_of(huge).find("file too large") != std::string::npos);
}

TEST_CASE("every mapping key the loader accepts is in the known-key list") {
  const auto& keys = config_known_keys();
  for (const char* k :
       {"state_dir", "smarthost.ca_file", "listen[].tls.cert", "portal.sms_command",
        "limits.data_timeout", "queue.retry_schedule", "log.format", "imap[].folders"})
    CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "nonsense") == keys.end());
}

TEST_CASE("load_config reads a file and resolves paths against its directory") {
  auto dir = std::filesystem::temp_directory_path() /
             ("sealpost-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "sealpost.yaml";
  std::ofstream(file) << kValid;
  auto r = load_config(file.string());
  INFO((r.ok() ? "" : r.error().what()));
  REQUIRE(r.ok());
  CHECK(r->policy == (dir / "policy.yaml").string());
  CHECK(r->source_path == file.string());

  auto missing = load_config((dir / "nope.yaml").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().what().find("nope.yaml") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("imap accounts: an account or a folder listed twice is refused where it repeats") {
  const std::string account =
      "  - host: imap.provider.example\n"
      "    username: praxis@provider.example\n"
      "    password_file: imap.pass\n"
      "    folders: [INBOX, Archiv]\n";
  CHECK(error_of(replace(kValid, account, account + account)) ==
        "sealpost.yaml:31: imap[]: account praxis@provider.example@imap.provider.example:993 is "
        "listed twice (first on line 27)");
  // Host and user name in another case are the same mailbox; another port is not.
  CHECK(error_of(replace(
            kValid, account,
            account + replace(account, "imap.provider.example", "IMAP.Provider.example"))) ==
        "sealpost.yaml:31: imap[]: account praxis@provider.example@imap.provider.example:993 is "
        "listed twice (first on line 27)");
  auto other_port =
      parse(replace(kValid, account, account + account + "    port: 143\n    tls: starttls\n"));
  INFO((other_port.ok() ? "" : other_port.error().what()));
  CHECK(other_port.ok());

  CHECK(error_of(replace(kValid, "folders: [INBOX, Archiv]", "folders: [INBOX, Archiv, Archiv]")) ==
        "sealpost.yaml:30: imap[].folders: 'Archiv' is listed twice");
  CHECK(error_of(replace(kValid, "    folders: [INBOX, Archiv]\n",
                         "    folders:\n      - INBOX\n      - Archiv\n      - inbox\n")) ==
        "sealpost.yaml:33: imap[].folders: 'inbox' is listed twice");
  // Other names are case-sensitive on the server.
  CHECK(
      parse(replace(kValid, "folders: [INBOX, Archiv]", "folders: [INBOX, Archiv, archiv]")).ok());
}

TEST_CASE("imap accounts: harvest policy, originals folder and poll interval") {
  auto defaults = parse(kValid);
  REQUIRE(defaults.ok());
  CHECK(defaults->imap[0].harvest == HarvestPolicy::Approve);  // nothing learnt is used unasked
  CHECK(defaults->imap[0].key_change == KeyChangePolicy::Approve);
  CHECK(defaults->imap[0].readable_folder.empty());
  CHECK(defaults->keystore.domain_signers.empty());
  CHECK(defaults->imap[0].originals_folder == "Sealpost/Originals");
  CHECK(defaults->imap[0].poll_interval == std::chrono::seconds(60));

  const std::string set = replace(kValid, "    folders: [INBOX, Archiv]\n",
                                  "    folders: [INBOX, Archiv]\n    harvest: approve\n"
                                  "    originals_folder: Archiv/Sealpost\n    poll_interval: 2m\n");
  auto r = parse(set);
  INFO((r.ok() ? "" : r.error().what()));
  REQUIRE(r.ok());
  CHECK(r->imap[0].harvest == HarvestPolicy::Approve);
  CHECK(r->imap[0].originals_folder == "Archiv/Sealpost");
  CHECK(r->imap[0].poll_interval == std::chrono::seconds(120));
  auto never = parse(replace(set, "harvest: approve", "harvest: never"));
  REQUIRE(never.ok());
  CHECK(never->imap[0].harvest == HarvestPolicy::Never);

  CHECK(error_of(replace(set, "harvest: approve", "harvest: sometimes")) ==
        "sealpost.yaml:31: imap[].harvest: 'sometimes' is not one of: auto, approve, never");
  CHECK(error_of(replace(set, "originals_folder: Archiv/Sealpost", "originals_folder: Archiv"))
            .find("sealpost.yaml:32: imap[].originals_folder: 'Archiv' is also listed in "
                  "folders") != std::string::npos);
  CHECK(error_of(replace(set, "originals_folder: Archiv/Sealpost", "originals_folder: /Sealpost"))
            .find("sealpost.yaml:32: imap[].originals_folder: not a usable folder name") !=
        std::string::npos);
  CHECK(error_of(replace(set, "poll_interval: 2m", "poll_interval: 1s"))
            .find("sealpost.yaml:33: imap[].poll_interval: must be 5s to 24h") !=
        std::string::npos);
  auto changed = parse(replace(set, "harvest: approve",
                               "harvest: auto\n    key_change: auto\n"
                               "    readable_folder: Lesbar"));
  INFO((changed.ok() ? "" : changed.error().what()));
  REQUIRE(changed.ok());
  CHECK(changed->imap[0].harvest == HarvestPolicy::Auto);
  CHECK(changed->imap[0].key_change == KeyChangePolicy::Auto);
  CHECK(changed->imap[0].readable_folder == "Lesbar");
  CHECK(error_of(replace(set, "harvest: approve", "key_change: never")) ==
        "sealpost.yaml:31: imap[].key_change: 'never' is not one of: approve, auto");
  CHECK(error_of(replace(set, "harvest: approve", "readable_folder: Archiv/Sealpost")) ==
        "sealpost.yaml:31: imap[].readable_folder: must differ from originals_folder");
  CHECK(error_of(replace(set, "harvest: approve", "readable_folder: \"a*\"")) ==
        "sealpost.yaml:31: imap[].readable_folder: not a usable folder name");
  auto signers = parse(replace(kValid, "  crl_dir: crl/\n",
                               "  crl_dir: crl/\n  domain_signers: [praxis@praxis.example]\n"));
  REQUIRE(signers.ok());
  CHECK(signers->keystore.domain_signers == std::vector<std::string>{"praxis@praxis.example"});
  CHECK(error_of(replace(kValid, "  crl_dir: crl/\n",
                         "  crl_dir: crl/\n  domain_signers: [praxis]\n")) ==
        "sealpost.yaml:22: keystore.domain_signers: 'praxis' is not an e-mail address");
  for (const char* k :
       {"imap[].harvest", "imap[].key_change", "imap[].readable_folder", "keystore.domain_signers",
        "imap[].originals_folder", "imap[].poll_interval"}) {
    const auto& keys = config_known_keys();
    CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
  }
}
