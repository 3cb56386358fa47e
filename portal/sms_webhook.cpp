#include "portal/sms_webhook.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "audit/audit_line.h"  // append_json_string
#include "common/durable_file.h"
#include "portal/second_factor.h"  // valid_phone_number

namespace sealpost::portal {
namespace {

constexpr std::size_t kMaxAnswer = std::size_t{64} * 1024;
constexpr std::size_t kMaxHeaderFile = std::size_t{8} * 1024;

struct EasyCleanup {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListCleanup {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// curl_global_init is not thread-safe on every libcurl; sealpost-portal also
// calls it before its threads start, this covers tests and tools.
void ensure_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Answer {
  std::size_t bytes = 0;
  bool truncated = false;
};

// The answer is not kept (it might echo the code); only its size is bounded.
std::size_t on_answer(char*, std::size_t size, std::size_t n, void* user) {
  auto* a = static_cast<Answer*>(user);
  a->bytes += size * n;
  if (a->bytes > kMaxAnswer) {
    a->truncated = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  return size * n;
}

bool header_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

Result<std::string> load_auth_header(const std::string& path) {
  auto text = read_file(path, kMaxHeaderFile);
  if (!text) return Error::plain("portal.sms_webhook.auth_header_file: cannot read " + path);
  std::string line = text->substr(0, text->find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::size_t colon = line.find(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < line.size();
  for (std::size_t i = 0; ok && i < colon; ++i) ok = header_name_char(line[i]);
  for (unsigned char c : line) ok = ok && c >= 0x20 && c != 0x7f;
  // The message names the file, never its content: that is the secret.
  if (!ok)
    return Error::plain("portal.sms_webhook.auth_header_file: first line of " + path +
                        " is not one 'Name: value' header");
  return line;
}

Result<void> send_sms_webhook(const SmsWebhook& hook, std::string_view number,
                              std::string_view code, std::string_view text) {
  if (!pickup::valid_phone_number(number)) return Error::plain("sms: invalid phone number");
  if (hook.url.rfind("https://", 0) != 0) return Error::plain("sms webhook: not an https URL");
  ensure_curl();
  std::unique_ptr<CURL, EasyCleanup> curl(curl_easy_init());
  if (!curl) return Error::plain("sms webhook: curl_easy_init failed");

  std::string body = "{\"to\":";
  audit::append_json_string(body, number);
  body += ",\"code\":";
  audit::append_json_string(body, code);
  body += ",\"text\":";
  audit::append_json_string(body, text);
  body += "}";

  // curl_slist_append returns the list's head, or NULL leaving the list as it was.
  std::unique_ptr<curl_slist, ListCleanup> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  if (!headers ||
      (!hook.auth_header.empty() && !curl_slist_append(headers.get(), hook.auth_header.c_str())))
    return Error::plain("sms webhook: out of memory");

  Answer answer;
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  const long timeout_ms = static_cast<long>(hook.timeout.count()) * 1000;
  bool set =
      curl_easy_setopt(c, CURLOPT_URL, hook.url.c_str()) == CURLE_OK &&
      // HTTPS only, also after a redirect (which is not followed anyway).
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
      // Straight to the gateway: a proxy from the environment (https_proxy,
      // ALL_PROXY) would see every patient's number. "" = no proxy, and
      // NOPROXY "*" so no environment variable can bring one back.
      curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_NOPROXY, "*") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&  // threads, no SIGALRM
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str()) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size())) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_USERAGENT, "sealpost-portal") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
  if (set && !hook.ca_file.empty())
    set = curl_easy_setopt(c, CURLOPT_CAINFO, hook.ca_file.c_str()) == CURLE_OK;
  if (!set) return Error::plain("sms webhook: libcurl refused an option");

  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  // An overlong answer is cut off unread; its status line already said how it went.
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && answer.truncated))
    return Error::plain(std::string("sms webhook: ") +
                        (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  if (status < 200 || status > 299)
    return Error::plain("sms webhook: gateway answered HTTP " + std::to_string(status));
  return {};
}

}  // namespace sealpost::portal
