// The model of sealpost.yaml (DESIGN.md §3.1). Loading validates everything:
// unknown keys, wrong types and bad values are errors naming file:line.
// Relative paths are resolved against the config file's directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/cidr.h"
#include "common/result.h"

namespace sealpost {

struct TlsFiles {
  std::string cert;  // PEM chain
  std::string key;   // PEM private key
};

enum class ListenMode { Submission, Filter };

struct ListenerConfig {
  std::string address;  // as written, e.g. "127.0.0.1:587" or "[::1]:587"
  std::string host;     // split from address
  std::uint16_t port = 0;
  ListenMode mode = ListenMode::Submission;
  bool implicit_tls = false;
  std::optional<TlsFiles> tls;         // required for submission (STARTTLS or implicit)
  std::vector<Cidr> trusted_networks;  // filter mode: who may connect
};

enum class TlsMode { Implicit, StartTls, None };

struct SmarthostConfig {
  std::string host;
  std::uint16_t port = 465;
  TlsMode tls = TlsMode::Implicit;
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  std::string username;       // empty: no AUTH
  std::string password_file;  // read at connect time; never logged
  bool insecure = false;      // required for tls: none; logs a loud warning
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};
};

struct QueueConfig {
  // Delay before retry N (the last entry repeats), capped near an hour.
  std::vector<std::chrono::seconds> retry_schedule{
      std::chrono::seconds(60), std::chrono::seconds(300), std::chrono::seconds(900),
      std::chrono::seconds(1800), std::chrono::seconds(3600)};
  std::chrono::seconds max_age{5 * 24 * 3600};  // then bounce
  unsigned workers = 4;                         // parallel delivery workers
  // At-rest encryption of the spool (relay/spool/spool_keyring.h): "" = the
  // systemd credential spool-key, else <state_dir>/spool.key.
  std::string spool_key;
  std::vector<std::string> spool_old_keys;  // read-only, for files from before a rotation
};

struct KeystoreConfig {
  std::vector<std::string> trust_anchors;  // PEM bundles or directories of PEMs
  std::string crl_dir;                     // optional
  // Practice identities (e.g. praxis@praxis.example) whose signing key or
  // certificate may sign mail from any address of their domain that has no
  // signing identity of its own (keystore/signer_choice.cpp).
  std::vector<std::string> domain_signers;
  // Every field: the keystore reads them once at start (relay/reload_check.cpp).
  bool operator==(const KeystoreConfig&) const = default;
};

// Sends pickup SMS codes by an HTTPS POST (portal.sms_webhook).
struct SmsWebhookConfig {
  std::string url;               // https:// only
  std::string auth_header_file;  // optional: one "Name: value" header line, a secret
  std::string ca_file;           // optional: roots to trust instead of the system's
  std::chrono::seconds timeout{10};
};

struct PortalConfig {
  std::string public_url;
  std::string listen = "127.0.0.1:8443";
  std::optional<TlsFiles> tls;
  std::vector<Cidr> trusted_proxies;
  // Sends a pickup SMS: program and arguments, "{number}" replaced by the
  // recipient's number; the code goes to its stdin, never into argv. Optional.
  std::string sms_command;
  // Where the portal submits patients' replies (the relay's filter listener
  // when empty), what the pages call the practice, the notice sender.
  std::string submit;
  std::string practice_name;
  std::string mail_from;
  std::string templates;  // directory with notice.<lang>.txt; empty: /etc/sealpost/templates
  unsigned max_attempts = 5;
  std::chrono::seconds code_ttl{600};
  std::uint64_t max_reply_size = 20u << 20;
  // Index rows of shredded pickups (recipient, sender, times) are deleted
  // this long after their expiry.
  std::chrono::seconds index_retention{90 * 24 * 3600};
  bool pickup_receipt = true;    // mail the staff sender when a pickup is first opened
  bool portal_passwords = true;  // patients may set a password for later pickups
  std::optional<SmsWebhookConfig> sms_webhook;  // alternative to sms_command
};

// What the IMAP side may learn from incoming mail (Autocrypt keys, S/MIME
// certificates of valid signatures): use at once, store until an admin runs
// `sealpost keys approve`, or nothing.
enum class HarvestPolicy { Auto, Approve, Never };
// A harvested key for an address that already has a harvested one: wait for
// `sealpost keys approve` (then the earlier one retires), or switch at once.
enum class KeyChangePolicy { Approve, Auto };

struct ImapAccountConfig {
  std::string host;
  std::uint16_t port = 993;
  TlsMode tls = TlsMode::Implicit;
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  std::string username;
  std::string password_file;
  std::vector<std::string> folders{"INBOX"};
  // Approve by default: anybody can send mail under any From, so a key learnt
  // from mail is only used once an admin vouched for it (docs/imap.md).
  HarvestPolicy harvest = HarvestPolicy::Approve;
  KeyChangePolicy key_change = KeyChangePolicy::Approve;
  // Where decrypted/replaced originals are moved; '/' stands for the server's
  // hierarchy delimiter. Created when missing.
  std::string originals_folder = "Sealpost/Originals";
  // Where readable copies are APPENDed; "" = the folder the original is in.
  std::string readable_folder;
  // Folders are polled this often when IDLE cannot be used.
  std::chrono::seconds poll_interval{60};
  // Every field: the IMAP service reads them once at start (relay/reload_check.cpp).
  bool operator==(const ImapAccountConfig&) const = default;
};

struct LimitsConfig {
  std::uint64_t max_message_size = 50ull * 1024 * 1024;
  unsigned max_recipients = 100;
  unsigned max_connections = 200;
  unsigned max_connections_per_client = 20;
  unsigned max_auth_failures = 3;          // per connection, then 421
  unsigned auth_failures_per_client = 10;  // per client IP (IPv6: /64) in 15 minutes
  std::chrono::seconds idle_timeout{300};  // RFC 5321 §4.5.3.2 server timeout
  std::chrono::seconds data_timeout{600};  // whole DATA phase (slowloris)
  // Messages larger than this are sealed through encrypted spill files instead
  // of memory (common/spill_file.h), so a 100 MB attachment costs buffers only.
  std::uint64_t message_memory = 8ull * 1024 * 1024;
  // SIGTERM: how long SMTP transactions in DATA and deliveries in flight may
  // take to finish before they are cut (the mail stays queued or unaccepted).
  std::chrono::seconds shutdown_grace{30};
};

struct LogConfig {
  std::string level = "info";
  std::string format = "text";  // text | json
};

struct Config {
  std::string source_path;  // the file this was loaded from
  std::string state_dir = "/var/lib/sealpost";
  std::string hostname;
  std::vector<ListenerConfig> listen;
  std::string users;  // users.yaml
  SmarthostConfig smarthost;
  std::string policy;  // policy.yaml
  KeystoreConfig keystore;
  std::optional<PortalConfig> portal;
  std::vector<ImapAccountConfig> imap;
  LimitsConfig limits;
  QueueConfig queue;
  LogConfig log;
};

// Loads and validates; error reason reads "FILE:LINE: message".
Result<Config> load_config(const std::string& path);
// Same, from text (tests, fuzzing); `name` stands in for the file name.
Result<Config> parse_config(const std::string& text, const std::string& name,
                            const std::string& base_dir);

}  // namespace sealpost
