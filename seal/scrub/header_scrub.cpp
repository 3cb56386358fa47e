#include "seal/scrub/header_scrub.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <string>

#include "common/secure_random.h"

namespace sealpost::scrub {
namespace {

// Headers clients add that name internal hosts, the workstation, the mail
// client, or ask the recipient's client to report back. Received lines go
// too: Sealpost adds its own minimal one at submission.
constexpr std::array<std::string_view, 20> kStripAlways = {"Received",
                                                           "X-Originating-IP",
                                                           "X-Mailer",
                                                           "User-Agent",
                                                           "X-MS-*",
                                                           "X-Microsoft-*",
                                                           "Thread-Index",
                                                           "Thread-Topic",
                                                           "X-Mozilla-*",
                                                           "Disposition-Notification-To",
                                                           "Return-Receipt-To",
                                                           "X-Confirm-Reading-To",
                                                           "X-MimeOLE",
                                                           "X-Originating-Client",
                                                           "X-Account-Key",
                                                           "X-Identity-Key",
                                                           "X-Client-IP",
                                                           "X-Sender-IP",
                                                           "X-Forefront-*",
                                                           "X-Exchange-*"};

// Allow mode keeps only what a reader or a MIME parser needs.
constexpr std::array<std::string_view, 10> kAllowEssential = {
    "From", "To",         "Cc",          "Reply-To",   "Subject",
    "Date", "Message-ID", "In-Reply-To", "References", "MIME-Version"};

bool ieq_char(char a, char b) {
  return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}

bool any_match(auto const& patterns, std::string_view name) {
  for (const auto& p : patterns)
    if (header_glob_match(p, name)) return true;
  return false;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The mail domain of the first From mailbox, lower-cased; empty if none.
std::string sender_domain(GMimeMessage* msg) {
  InternetAddressList* from = g_mime_message_get_from(msg);
  if (!from || internet_address_list_length(from) < 1) return {};
  InternetAddress* a = internet_address_list_get_address(from, 0);
  if (!INTERNET_ADDRESS_IS_MAILBOX(a)) return {};
  const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
  if (!addr) return {};
  std::string_view v(addr);
  auto at = v.rfind('@');
  return at == std::string_view::npos ? std::string{} : lower(v.substr(at + 1));
}

}  // namespace

bool header_glob_match(std::string_view pattern, std::string_view name) {
  // Iterative glob with single-star backtracking: linear enough for header
  // names and never recursive on hostile input.
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && ieq_char(pattern[p], name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool header_must_go(std::string_view name, const ScrubProfile& profile) {
  // Blind copies name people the other recipients must not see, in any mode.
  if (header_glob_match("Bcc", name) || header_glob_match("Resent-Bcc", name)) return true;
  if (profile.header_mode == ScrubProfile::HeaderMode::Allow) {
    if (header_glob_match("Content-*", name)) return false;
    return !any_match(kAllowEssential, name) && !any_match(profile.keep_headers, name);
  }
  return any_match(kStripAlways, name) || any_match(profile.remove_headers, name);
}

int remove_headers(GMimeObject* obj, const ScrubProfile& profile) {
  GMimeHeaderList* list = g_mime_object_get_header_list(obj);
  int removed = 0;
  int i = 0;
  while (i < g_mime_header_list_get_count(list)) {
    GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
    const char* name = h ? g_mime_header_get_name(h) : nullptr;
    if (name && header_must_go(name, profile)) {
      g_mime_header_list_remove_at(list, i);
      ++removed;
    } else {
      ++i;
    }
  }
  return removed;
}

void scrub_headers(GMimeMessage* msg, const ScrubProfile& profile, ScrubReport& report) {
  report.headers_removed += remove_headers(GMIME_OBJECT(msg), profile);
}

bool internal_looking_host(std::string_view host) {
  const std::string h = lower(host);
  if (h.empty() || h.find('.') == std::string::npos) return true;
  if (h.front() == '[') return true;  // address literal
  if (h.find_first_not_of("0123456789.") == std::string::npos) return true;
  for (std::string_view suffix : {".local", ".lan", ".internal", ".localdomain", ".home.arpa",
                                  ".corp", ".intranet", ".private"})
    if (std::string_view(h).ends_with(suffix)) return true;
  return false;
}

bool opaque_id_left_part(std::string_view left) {
  if (left.size() < 16 || left.size() > 128) return false;
  bool digit = false;
  for (const char c : left) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isdigit(u)) {
      digit = true;
    } else if (!std::isalpha(u) && c != '-' && c != '_' && c != '$' && c != '=' && c != '+') {
      return false;  // a dot, '%', '!' ...: room for a host, an IP or a user name
    }
  }
  return digit;
}

std::string mapped_message_id(std::string_view original, const ScrubContext& ctx) {
  const std::string right =
      ctx.relay_hostname.empty() ? std::string("sealpost.invalid") : ctx.relay_hostname;
  if (ctx.message_id_key.empty() || original.empty()) return random_token(20) + "@" + right;
  const std::string input = "sealpost-message-id-v1\n" + std::string(original);
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, ctx.message_id_key.data(),
                 ctx.message_id_key.size(), reinterpret_cast<const unsigned char*>(input.data()),
                 input.size(), mac, sizeof mac, &len))
    return random_token(20) + "@" + right;
  static constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string id;
  for (std::size_t i = 0; i < 20 && i < len; ++i) id += kBase32[mac[i] & 31];
  return id + "@" + right;
}

namespace {

std::string right_side(std::string_view id) {
  const auto at = id.rfind('@');
  return at == std::string_view::npos ? std::string() : lower(id.substr(at + 1));
}

std::string_view left_side(std::string_view id) {
  const auto at = id.rfind('@');
  return at == std::string_view::npos ? id : id.substr(0, at);
}

bool on_domain(std::string_view host, std::string_view domain) {
  return !domain.empty() &&
         (host == domain || (host.size() > domain.size() && host.ends_with(domain) &&
                             host[host.size() - domain.size() - 1] == '.'));
}

// The one rule for the message's own id and every id it references, so a
// reference to an earlier message becomes exactly the id that message left with.
bool keep_id_as_is(std::string_view id, std::string_view domain) {
  return !domain.empty() && right_side(id) == domain && opaque_id_left_part(left_side(id));
}

// Rewrites `name` (In-Reply-To, References) entry by entry; true if changed.
bool map_references(GMimeMessage* msg, const char* name, const std::string& own_right,
                    const std::string& domain, const ScrubContext& ctx) {
  GMimeObject* obj = GMIME_OBJECT(msg);
  const char* value = g_mime_object_get_header(obj, name);
  if (!value) return false;
  GMimeReferences* refs = g_mime_references_parse(nullptr, value);
  if (!refs) return false;
  std::string out;
  bool changed = false;
  const int n = g_mime_references_length(refs);
  for (int i = 0; i < n; ++i) {
    const std::string id = g_mime_references_get_message_id(refs, i);
    const std::string rhs = right_side(id);
    const bool ours = rhs != lower(ctx.relay_hostname) && !keep_id_as_is(id, domain) &&
                      (on_domain(rhs, domain) || (!own_right.empty() && rhs == own_right) ||
                       internal_looking_host(rhs));
    out += (out.empty() ? "<" : " <") + (ours ? mapped_message_id(id, ctx) : id) + ">";
    changed = changed || ours;
  }
  g_mime_references_free(refs);
  if (changed) g_mime_object_set_header(obj, name, out.c_str(), nullptr);
  return changed;
}

}  // namespace

std::string message_sender_domain(GMimeMessage* msg) {
  return sender_domain(msg);
}

void scrub_message_id(GMimeMessage* msg, const ScrubContext& ctx, ScrubReport& report,
                      std::string_view practice_domain) {
  const char* id = g_mime_message_get_message_id(msg);  // without angle brackets
  const std::string domain = practice_domain.empty() ? sender_domain(msg) : lower(practice_domain);
  const std::string original = id ? id : "";
  // Keep only an id on exactly the sender's mail domain whose left part is an
  // opaque token (Thunderbird/Apple UUIDs, Outlook's hex): it names nothing the
  // world does not know, and the staff's own client keeps threading replies.
  // Anything else (a workstation FQDN, a subdomain, an IP literal, an Exchange
  // server, a dotted left part like "20261126.GA1@ws-017...") is replaced.
  const std::string own_right = right_side(original);
  const bool keep = !original.empty() && keep_id_as_is(original, domain);
  if (!keep) {
    g_mime_message_set_message_id(msg, mapped_message_id(original, ctx).c_str());
    ++report.message_id_rewritten;
  }
  for (const char* name : {"In-Reply-To", "References"})
    if (map_references(msg, name, keep ? std::string() : own_right, domain, ctx))
      ++report.message_id_rewritten;
}

}  // namespace sealpost::scrub
