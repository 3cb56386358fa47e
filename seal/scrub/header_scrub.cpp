#include "seal/scrub/header_scrub.h"

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
  if (header_glob_match("Bcc", name)) return true;
  if (profile.header_mode == ScrubProfile::HeaderMode::Allow) {
    if (header_glob_match("Content-*", name)) return false;
    return !any_match(kAllowEssential, name) && !any_match(profile.keep_headers, name);
  }
  return any_match(kStripAlways, name) || any_match(profile.remove_headers, name);
}

void scrub_headers(GMimeMessage* msg, const ScrubProfile& profile, ScrubReport& report) {
  GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
  int i = 0;
  while (i < g_mime_header_list_get_count(list)) {
    GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
    const char* name = h ? g_mime_header_get_name(h) : nullptr;
    if (name && header_must_go(name, profile)) {
      g_mime_header_list_remove_at(list, i);
      ++report.headers_removed;
    } else {
      ++i;
    }
  }
}

void scrub_message_id(GMimeMessage* msg, const ScrubContext& ctx, ScrubReport& report) {
  const char* id = g_mime_message_get_message_id(msg);  // without angle brackets
  const std::string domain = sender_domain(msg);
  if (id) {
    std::string_view v(id);
    auto at = v.rfind('@');
    // Keep an id whose right side is exactly the sender's mail domain: that
    // names nothing the world does not know. Anything else (a workstation
    // FQDN, an IP literal, an Exchange server) is replaced.
    if (at != std::string_view::npos && !domain.empty() && lower(v.substr(at + 1)) == domain)
      return;
  }
  const std::string right =
      ctx.relay_hostname.empty() ? std::string("sealpost.invalid") : ctx.relay_hostname;
  const std::string fresh = random_token(20) + "@" + right;
  g_mime_message_set_message_id(msg, fresh.c_str());
  ++report.message_id_rewritten;
}

}  // namespace sealpost::scrub
