// Sends a pickup code through the admin's HTTPS SMS gateway
// (portal.sms_webhook), the alternative to portal.sms_command: one POST of
// {"to": NUMBER, "code": CODE, "text": TEXT} with libcurl, HTTPS only, the
// certificate and host name always verified, no redirects, a whole-request
// timeout and at most 64 KiB of answer read. Any 2xx counts as sent. The
// optional auth header (a secret) comes from a file and is never logged; nor
// are the code, the URL or the answer.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost::portal {

struct SmsWebhook {
  std::string url;          // https://...
  std::string auth_header;  // "Name: value" or empty
  std::string ca_file;      // empty: the system's roots
  std::chrono::seconds timeout{10};
};

// Reads the first line of `path` as one "Name: value" header.
Result<std::string> load_auth_header(const std::string& path);

Result<void> send_sms_webhook(const SmsWebhook& hook, std::string_view number,
                              std::string_view code, std::string_view text);

}  // namespace sealpost::portal
