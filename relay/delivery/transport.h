// Transport: hands one prepared message to a destination (the smarthost) and
// reports per-recipient outcomes. Delivery logic never talks to sockets itself.
#pragma once

#include <string>
#include <vector>

#include "common/body.h"
#include "common/result.h"

namespace sealpost {

struct OutboundRecipient {
  std::string address;
  std::string notify;  // DSN parameters carried from the inbound envelope
  std::string orcpt;
};

struct OutboundMessage {
  std::string mail_from;  // "" = null reverse-path (DSNs)
  std::string ret, envid;
  bool smtputf8 = false;
  bool eight_bit = false;
  std::vector<OutboundRecipient> rcpts;
  Body data;  // full RFC 5322 message, CRLF line ends, not dot-stuffed
};

struct RcptOutcome {
  std::string address;
  int code = 0;          // remote reply code (250, 450, 550, ...); 0 = not tried
  std::string enhanced;  // e.g. "5.1.1"
  std::string reply;     // remote reply text (may be logged: it carries no content)
  bool delivered() const { return code >= 200 && code < 300; }
  bool permanent() const { return code >= 500; }
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Error: the attempt failed as a whole (connect, TLS verification, MAIL FROM
  // or DATA refused); its smtp_code says whether it is temporary. Otherwise one
  // outcome per recipient.
  virtual Result<std::vector<RcptOutcome>> send(const OutboundMessage& msg) = 0;
};

}  // namespace sealpost
