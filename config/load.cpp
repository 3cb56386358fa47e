// sealpost.yaml -> Config. Every mapping is checked against config_keys.cpp,
// every value against its type and range; the first problem ends loading with
// "FILE:LINE: message". Semantic checks that span keys come last.
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "common/durable_file.h"
#include "config/config.h"
#include "config/config_keys.h"
#include "config/host_port.h"
#include "config/yaml_reader.h"

namespace sealpost {
namespace {

constexpr std::size_t kMaxConfigBytes = 1u << 20;

class ConfigLoader {
 public:
  explicit ConfigLoader(const YamlReader& r) : r_(r) {}

  Config load(const YAML::Node& root) {
    Config c;
    c.source_path = r_.file_name();
    check(root, "");
    if (root.IsNull()) r_.fail_file("the file is empty");
    if (auto n = root["state_dir"]) c.state_dir = r_.path(n, "state_dir");
    if (auto n = root["hostname"]) c.hostname = hostname(n);
    if (auto n = root["listen"]) {
      for (const auto& item : r_.sequence(n, "listen")) c.listen.push_back(listener(item));
    }
    if (auto n = root["users"]) c.users = r_.path(n, "users");
    if (auto n = root["smarthost"]) c.smarthost = smarthost(n);
    if (auto n = root["policy"]) c.policy = r_.path(n, "policy");
    if (auto n = root["keystore"]) c.keystore = keystore(n);
    if (auto n = root["portal"]) c.portal = portal(n);
    if (auto n = root["imap"]) {
      // Two entries for one mailbox would process every message twice (the
      // seen store keys on user@host:port): refused at the second one.
      std::map<std::string, int> accounts;
      for (const auto& item : r_.sequence(n, "imap")) {
        c.imap.push_back(imap(item));
        const auto& a = c.imap.back();
        std::string key = a.username + "@" + a.host + ":" + std::to_string(a.port);
        for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        auto [first, added] = accounts.emplace(key, item.Mark().line + 1);
        if (!added)
          r_.fail(item, "imap[]: account " + key + " is listed twice (first on line " +
                            std::to_string(first->second) + ")");
      }
    }
    if (auto n = root["limits"]) c.limits = limits(n);
    if (auto n = root["queue"]) c.queue = queue(n);
    if (auto n = root["log"]) c.log = log(n);
    if (auto n = root["audit"]) check(n, "audit");
    if (auto n = root["metrics"]) check(n, "metrics");
    check_whole(root, c);
    return c;
  }

 private:
  void check(const YAML::Node& n, const std::string& section) {
    r_.check_map(n, section, config_section_keys(section));
  }

  std::string hostname(const YAML::Node& n) {
    std::string h = r_.string(n, "hostname");
    if (!is_dns_name(h)) r_.fail(n, "hostname: '" + YamlReader::shorten(h) + "' is not a DNS name");
    return h;
  }

  std::vector<Cidr> networks(const YAML::Node& n, const std::string& what) {
    std::vector<Cidr> out;
    if (!n.IsSequence()) r_.fail(n, what + ": expected a list of networks like 127.0.0.0/8");
    for (const auto& item : n) {
      std::string text = r_.string(item, what);
      auto cidr = Cidr::parse(text);
      if (!cidr) r_.fail(item, what + ": '" + YamlReader::shorten(text) + "' is not an IP network");
      out.push_back(*cidr);
    }
    return out;
  }

  TlsFiles tls_files(const YAML::Node& n, const std::string& section) {
    check(n, section);
    if (n.IsNull()) r_.fail(n, section + ": needs cert and key");
    TlsFiles t;
    if (!n["cert"]) r_.fail(n, section + ": missing 'cert'");
    if (!n["key"]) r_.fail(n, section + ": missing 'key'");
    t.cert = r_.path(n["cert"], section + ".cert");
    t.key = r_.path(n["key"], section + ".key");
    return t;
  }

  // A listener binds an IP address, so names like "localhost" are refused here.
  HostPort bind_address(const YAML::Node& n, const std::string& what) {
    std::string text = r_.string(n, what);
    auto hp = parse_host_port(text);
    if (!hp || !hp->host_is_ip)
      r_.fail(n, what + ": '" + YamlReader::shorten(text) +
                     "' is not IP:PORT (write [v6]:port for IPv6)");
    return *hp;
  }

  ListenerConfig listener(const YAML::Node& n) {
    check(n, "listen[]");
    ListenerConfig l;
    if (!n["address"]) r_.fail(n, "listen[]: missing 'address'");
    HostPort hp = bind_address(n["address"], "listen[].address");
    l.address = n["address"].Scalar();
    l.host = hp.host;
    l.port = hp.port;
    if (!n["mode"]) r_.fail(n, "listen[]: missing 'mode' (submission or filter)");
    l.mode = r_.choice<ListenMode>(
        n["mode"], "listen[].mode",
        {{"submission", ListenMode::Submission}, {"filter", ListenMode::Filter}});
    if (auto v = n["implicit_tls"]) l.implicit_tls = r_.boolean(v, "listen[].implicit_tls");
    if (auto v = n["tls"]) l.tls = tls_files(v, "listen[].tls");
    if (auto v = n["trusted_networks"])
      l.trusted_networks = networks(v, "listen[].trusted_networks");

    if (l.mode == ListenMode::Submission && !l.tls)
      r_.fail(n, "listen[]: a submission listener needs 'tls' (AUTH is only offered over TLS)");
    if (l.implicit_tls && !l.tls) r_.fail(n, "listen[]: implicit_tls needs 'tls'");
    // Explicit rather than a silent loopback default: who may inject
    // unauthenticated mail should be visible in the file.
    if (l.mode == ListenMode::Filter && l.trusted_networks.empty())
      r_.fail(n, "listen[]: a filter listener needs 'trusted_networks' (e.g. [127.0.0.0/8])");
    if (l.mode == ListenMode::Submission && !l.trusted_networks.empty())
      r_.fail(n["trusted_networks"], "listen[].trusted_networks: only applies to filter listeners");
    return l;
  }

  SmarthostConfig smarthost(const YAML::Node& n) {
    check(n, "smarthost");
    SmarthostConfig s;
    if (!n["host"]) r_.fail(n, "smarthost: missing 'host'");
    s.host = r_.string(n["host"], "smarthost.host");
    if (!is_dns_name(s.host) && !IpAddress::parse(s.host))
      r_.fail(n["host"], "smarthost.host: '" + YamlReader::shorten(s.host) +
                             "' is not a host name or IP address");
    if (auto v = n["port"])
      s.port = static_cast<std::uint16_t>(r_.integer(v, "smarthost.port", 1, 65535));
    if (auto v = n["tls"])
      s.tls = r_.choice<TlsMode>(v, "smarthost.tls",
                                 {{"implicit", TlsMode::Implicit},
                                  {"starttls", TlsMode::StartTls},
                                  {"none", TlsMode::None}});
    if (auto v = n["ca_file"]) s.ca_file = r_.path(v, "smarthost.ca_file");
    if (auto v = n["username"]) s.username = r_.string(v, "smarthost.username");
    if (auto v = n["password_file"]) s.password_file = r_.path(v, "smarthost.password_file");
    if (auto v = n["insecure"]) s.insecure = r_.boolean(v, "smarthost.insecure");
    if (auto v = n["connect_timeout"]) s.connect_timeout = timeout(v, "smarthost.connect_timeout");
    if (auto v = n["command_timeout"]) s.command_timeout = timeout(v, "smarthost.command_timeout");

    if (s.tls == TlsMode::None && !s.insecure)
      r_.fail(n["tls"],
              "smarthost.tls: 'none' sends mail unencrypted; it also needs 'insecure: true'");
    if (s.username.empty() != s.password_file.empty())
      r_.fail(n, "smarthost: 'username' and 'password_file' go together");
    if (s.tls == TlsMode::None && !s.username.empty())
      r_.fail(n, "smarthost: refusing to send a password without TLS");
    return s;
  }

  std::chrono::seconds timeout(const YAML::Node& n, const std::string& what) {
    auto d = r_.duration(n, what);
    if (d.count() < 1 || d > std::chrono::hours(24)) r_.fail(n, what + ": must be 1s to 24h");
    return d;
  }

  KeystoreConfig keystore(const YAML::Node& n) {
    check(n, "keystore");
    KeystoreConfig k;
    if (auto v = n["trust_anchors"]) {
      for (const auto& p : r_.string_list(v, "keystore.trust_anchors"))
        k.trust_anchors.push_back(r_.resolve(p));
    }
    if (auto v = n["crl_dir"]) k.crl_dir = r_.path(v, "keystore.crl_dir");
    if (auto v = n["domain_signers"]) {
      for (const auto& a : r_.string_list(v, "keystore.domain_signers")) {
        const auto at = a.find('@');
        if (at == std::string::npos || at == 0 || at + 1 == a.size() ||
            a.find('@', at + 1) != std::string::npos ||
            a.find_first_of(" \t\r\n<>\"") != std::string::npos)
          r_.fail(v, "keystore.domain_signers: '" + YamlReader::shorten(a) +
                         "' is not an e-mail address");
        k.domain_signers.push_back(a);
      }
    }
    return k;
  }

  PortalConfig portal(const YAML::Node& n) {
    check(n, "portal");
    if (n.IsNull()) r_.fail(n, "portal: needs at least 'public_url'");
    PortalConfig p;
    if (!n["public_url"]) r_.fail(n, "portal: missing 'public_url'");
    p.public_url = public_url(n["public_url"]);
    if (auto v = n["listen"]) {
      bind_address(v, "portal.listen");
      p.listen = v.Scalar();
    }
    if (auto v = n["tls"]) p.tls = tls_files(v, "portal.tls");
    if (auto v = n["trusted_proxies"]) p.trusted_proxies = networks(v, "portal.trusted_proxies");
    if (auto v = n["sms_command"]) p.sms_command = r_.string(v, "portal.sms_command");
    if (auto v = n["submit"]) {
      bind_address(v, "portal.submit");
      p.submit = v.Scalar();
    }
    if (auto v = n["practice_name"]) p.practice_name = header_safe(v, "portal.practice_name");
    if (auto v = n["mail_from"]) p.mail_from = header_safe(v, "portal.mail_from");
    if (auto v = n["templates"]) p.templates = r_.path(v, "portal.templates");
    if (auto v = n["max_attempts"])
      p.max_attempts = static_cast<unsigned>(r_.integer(v, "portal.max_attempts", 1, 100));
    if (auto v = n["code_ttl"]) p.code_ttl = r_.duration(v, "portal.code_ttl");
    if (auto v = n["max_reply_size"]) p.max_reply_size = r_.size(v, "portal.max_reply_size");
    if (auto v = n["index_retention"]) p.index_retention = r_.duration(v, "portal.index_retention");
    if (auto v = n["pickup_receipt"]) p.pickup_receipt = r_.boolean(v, "portal.pickup_receipt");
    if (auto v = n["portal_passwords"])
      p.portal_passwords = r_.boolean(v, "portal.portal_passwords");
    if (auto v = n["sms_webhook"]) {
      p.sms_webhook = sms_webhook(v);
      if (!p.sms_command.empty())
        r_.fail(v, "portal: 'sms_command' and 'sms_webhook' exclude each other; choose one");
    }
    return p;
  }

  SmsWebhookConfig sms_webhook(const YAML::Node& n) {
    check(n, "portal.sms_webhook");
    if (!n["url"]) r_.fail(n, "portal.sms_webhook: missing 'url'");
    SmsWebhookConfig w;
    w.url = r_.string(n["url"], "portal.sms_webhook.url");
    // The code is a second factor: it never travels without verified TLS.
    if (w.url.rfind("https://", 0) != 0 || w.url.size() <= 8 || w.url.size() > 2048 ||
        w.url.find_first_of(" \t\r\n") != std::string::npos)
      r_.fail(n["url"], "portal.sms_webhook.url: must be an https:// URL");
    if (auto v = n["auth_header_file"])
      w.auth_header_file = r_.path(v, "portal.sms_webhook.auth_header_file");
    if (auto v = n["ca_file"]) w.ca_file = r_.path(v, "portal.sms_webhook.ca_file");
    if (auto v = n["timeout"]) w.timeout = timeout(v, "portal.sms_webhook.timeout");
    if (w.timeout > std::chrono::seconds(60))
      r_.fail(n["timeout"], "portal.sms_webhook.timeout: at most 60s");
    return w;
  }

  // Values that end up in mail headers: no control characters, bounded length.
  std::string header_safe(const YAML::Node& n, const std::string& what) {
    std::string v = r_.string(n, what);
    if (v.size() > 200) r_.fail(n, what + ": longer than 200 characters");
    for (unsigned char ch : v)
      if (ch < 0x20 || ch == 0x7f) r_.fail(n, what + ": control characters are not allowed");
    return v;
  }

  // Patients open this link: https only, except a loopback URL for demos and tests.
  std::string public_url(const YAML::Node& n) {
    std::string url = r_.string(n, "portal.public_url");
    auto rest_of = [&](std::string_view scheme) -> std::string_view {
      return url.rfind(scheme, 0) == 0 ? std::string_view(url).substr(scheme.size())
                                       : std::string_view();
    };
    std::string_view rest = rest_of("https://");
    bool https = !rest.empty();
    if (!https) rest = rest_of("http://");
    std::string_view authority = rest.substr(0, rest.find('/'));
    std::string_view host = authority;
    if (!host.empty() && host.front() == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else {
      host = host.substr(0, host.find(':'));
    }
    bool loopback = host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0;
    if (host.empty() || (!https && !loopback))
      r_.fail(n, "portal.public_url: expected https://HOST/... (http:// only for loopback)");
    return url;
  }

  static bool usable_folder_name(const std::string& f) {
    return !f.empty() && f.front() != '/' && f.back() != '/' &&
           f.find_first_of("\r\n\"*%") == std::string::npos;
  }

  ImapAccountConfig imap(const YAML::Node& n) {
    check(n, "imap[]");
    ImapAccountConfig a;
    for (const char* key : {"host", "username", "password_file"})
      if (!n[key]) r_.fail(n, std::string("imap[]: missing '") + key + "'");
    a.host = r_.string(n["host"], "imap[].host");
    if (!is_dns_name(a.host) && !IpAddress::parse(a.host))
      r_.fail(n["host"], "imap[].host: not a host name or IP address");
    if (auto v = n["port"])
      a.port = static_cast<std::uint16_t>(r_.integer(v, "imap[].port", 1, 65535));
    if (auto v = n["tls"])
      a.tls = r_.choice<TlsMode>(
          v, "imap[].tls", {{"implicit", TlsMode::Implicit}, {"starttls", TlsMode::StartTls}});
    if (auto v = n["ca_file"]) a.ca_file = r_.path(v, "imap[].ca_file");
    a.username = r_.string(n["username"], "imap[].username");
    a.password_file = r_.path(n["password_file"], "imap[].password_file");
    if (auto v = n["folders"]) {
      a.folders = r_.string_list(v, "imap[].folders");
      if (a.folders.empty()) r_.fail(v, "imap[].folders: list at least one folder");
      // One thread per folder: a folder listed twice would be processed twice.
      // INBOX is case-insensitive (RFC 3501 §5.1), other names are not.
      std::set<std::string> seen;
      for (std::size_t i = 0; i < a.folders.size(); ++i) {
        std::string name = a.folders[i];
        std::string upper = name;
        for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (upper == "INBOX") name = upper;
        if (!seen.insert(name).second)
          r_.fail(v[i],
                  "imap[].folders: '" + YamlReader::shorten(a.folders[i]) + "' is listed twice");
      }
    }
    if (auto v = n["harvest"])
      a.harvest = r_.choice<HarvestPolicy>(v, "imap[].harvest",
                                           {{"auto", HarvestPolicy::Auto},
                                            {"approve", HarvestPolicy::Approve},
                                            {"never", HarvestPolicy::Never}});
    if (auto v = n["key_change"])
      a.key_change = r_.choice<KeyChangePolicy>(
          v, "imap[].key_change",
          {{"approve", KeyChangePolicy::Approve}, {"auto", KeyChangePolicy::Auto}});
    if (auto v = n["readable_folder"]) {
      a.readable_folder = r_.string(v, "imap[].readable_folder");
      if (!usable_folder_name(a.readable_folder))
        r_.fail(v, "imap[].readable_folder: not a usable folder name");
    }
    if (auto v = n["originals_folder"]) {
      a.originals_folder = r_.string(v, "imap[].originals_folder");
      if (!usable_folder_name(a.originals_folder))
        r_.fail(v, "imap[].originals_folder: not a usable folder name");
      // Moving originals into a folder that is itself processed would loop.
      for (const auto& f : a.folders)
        if (f == a.originals_folder)
          r_.fail(v, "imap[].originals_folder: '" + YamlReader::shorten(f) +
                         "' is also listed in folders");
    }
    // Copies appended where originals go would be moved away with them.
    if (!a.readable_folder.empty() && a.readable_folder == a.originals_folder)
      r_.fail(n["readable_folder"], "imap[].readable_folder: must differ from originals_folder");
    if (auto v = n["poll_interval"]) {
      a.poll_interval = r_.duration(v, "imap[].poll_interval");
      if (a.poll_interval < std::chrono::seconds(5) || a.poll_interval > std::chrono::hours(24))
        r_.fail(v, "imap[].poll_interval: must be 5s to 24h");
    }
    return a;
  }

  LimitsConfig limits(const YAML::Node& n) {
    check(n, "limits");
    LimitsConfig l;
    if (auto v = n["max_message_size"]) {
      l.max_message_size = r_.size(v, "limits.max_message_size");
      if (l.max_message_size < 1024 || l.max_message_size > (4ull << 30))
        r_.fail(v, "limits.max_message_size: must be 1KiB to 4GiB");
    }
    auto count = [&](const char* key, unsigned& out, unsigned max) {
      if (auto v = n[key])
        out = static_cast<unsigned>(r_.integer(v, std::string("limits.") + key, 1, max));
    };
    count("max_recipients", l.max_recipients, 100000);
    count("max_connections", l.max_connections, 100000);
    count("max_connections_per_client", l.max_connections_per_client, 100000);
    count("max_auth_failures", l.max_auth_failures, 1000);
    count("auth_failures_per_client", l.auth_failures_per_client, 100000);
    if (auto v = n["idle_timeout"]) l.idle_timeout = timeout(v, "limits.idle_timeout");
    if (auto v = n["data_timeout"]) l.data_timeout = timeout(v, "limits.data_timeout");
    if (auto v = n["message_memory"]) {
      l.message_memory = r_.size(v, "limits.message_memory");
      if (l.message_memory < (64ull << 10) || l.message_memory > (1ull << 30))
        r_.fail(v, "limits.message_memory: must be 64KiB to 1GiB");
    }
    if (auto v = n["shutdown_grace"]) {
      l.shutdown_grace = r_.duration(v, "limits.shutdown_grace");
      if (l.shutdown_grace.count() < 1 || l.shutdown_grace > std::chrono::minutes(10))
        r_.fail(v, "limits.shutdown_grace: must be 1s to 10m");
    }
    return l;
  }

  QueueConfig queue(const YAML::Node& n) {
    check(n, "queue");
    QueueConfig q;
    if (auto v = n["retry_schedule"]) {
      if (!v.IsSequence() || v.size() == 0)
        r_.fail(v, "queue.retry_schedule: expected a list of delays like [1m, 5m, 15m]");
      q.retry_schedule.clear();
      for (const auto& item : v) q.retry_schedule.push_back(timeout(item, "queue.retry_schedule"));
    }
    if (auto v = n["max_age"]) {
      q.max_age = r_.duration(v, "queue.max_age");
      if (q.max_age.count() < 60 || q.max_age > std::chrono::hours(24 * 60))
        r_.fail(v, "queue.max_age: must be 1m to 60d");
    }
    if (auto v = n["workers"])
      q.workers = static_cast<unsigned>(r_.integer(v, "queue.workers", 1, 256));
    if (auto v = n["spool_key"]) q.spool_key = key_file(v, "queue.spool_key");
    if (auto v = n["spool_old_keys"]) {
      if (!v.IsSequence()) r_.fail(v, "queue.spool_old_keys: expected a list of key files");
      for (const auto& item : v) q.spool_old_keys.push_back(key_file(item, "queue.spool_old_keys"));
    }
    return q;
  }

  // A spool key file (format in relay/spool/spool_key.h): checked here so a
  // wrong path or a world-readable key is a config error with file:line.
  std::string key_file(const YAML::Node& v, const std::string& what) {
    std::string p = r_.path(v, what);
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) r_.fail(v, what + ": " + p + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) r_.fail(v, what + ": " + p + " is not a file");
    if ((st.st_mode & 077) != 0)
      r_.fail(v, what + ": " + p + " is accessible by group or others; chmod 600 it");
    if (::access(p.c_str(), R_OK) != 0) r_.fail(v, what + ": " + p + ": not readable");
    // 32 raw bytes, or 64 hex digits with an optional newline (or CRLF).
    if (st.st_size != 32 && (st.st_size < 64 || st.st_size > 66))
      r_.fail(v, what + ": " + p + " is not a spool key (32 raw bytes or 64 hex digits)");
    return p;
  }

  LogConfig log(const YAML::Node& n) {
    check(n, "log");
    LogConfig l;
    if (auto v = n["level"])
      l.level = r_.choice<std::string>(
          v, "log.level",
          {{"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}});
    if (auto v = n["format"])
      l.format = r_.choice<std::string>(v, "log.format", {{"text", "text"}, {"json", "json"}});
    return l;
  }

  // Checks that need more than one key.
  void check_whole(const YAML::Node& root, const Config& c) {
    if (c.hostname.empty()) r_.fail_file("missing required key 'hostname'");
    if (!root["smarthost"]) r_.fail_file("missing required section 'smarthost'");
    if (c.listen.empty()) r_.fail_file("'listen' needs at least one listener");
    if (c.policy.empty()) r_.fail_file("missing required key 'policy' (path to policy.yaml)");
    bool submission = false;
    std::set<std::pair<std::string, std::uint16_t>> bound;
    std::size_t i = 0;
    for (const auto& l : c.listen) {
      submission = submission || l.mode == ListenMode::Submission;
      if (!bound.emplace(l.host, l.port).second)
        r_.fail(root["listen"][i], "listen[].address: '" + l.address + "' is listed twice");
      ++i;
    }
    if (submission && c.users.empty())
      r_.fail_file("missing key 'users' (a submission listener authenticates against it)");
  }

  const YamlReader& r_;
};

}  // namespace

Result<Config> parse_config(const std::string& text, const std::string& name,
                            const std::string& base_dir) {
  return run_yaml_loader<Config>([&] {
    YamlReader reader(name, base_dir);
    YamlLimits limits;
    limits.max_bytes = kMaxConfigBytes;
    YAML::Node root = reader.parse(text, limits);
    return ConfigLoader(reader).load(root);
  });
}

Result<Config> load_config(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return Error::plain(path + ": " + ec.message());
  auto text = read_file(abs, kMaxConfigBytes + 1);
  if (!text) return Error::plain(path + ": cannot read: " + text.error().what());
  return parse_config(*text, path, abs.parent_path().string());
}

}  // namespace sealpost
