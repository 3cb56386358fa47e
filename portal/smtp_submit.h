// A minimal SMTP client for the portal's own mail (patient replies, codes and
// lock notices to staff): one message to sealpostd's filter listener on
// loopback, plain SMTP, every read and write under a timeout. The relay then
// applies policy, sealing and delivery as for any other mail.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost::portal {

struct SubmitTarget {
  std::string host = "127.0.0.1";  // IP literal
  std::uint16_t port = 10025;
  std::string helo = "sealpost-portal";
  std::chrono::seconds timeout{30};
};

// `message` uses CRLF line ends; dot-stuffing is done here.
Result<void> submit_message(const SubmitTarget& target, std::string_view mail_from,
                            std::string_view rcpt_to, std::string_view message);

}  // namespace sealpost::portal
