// The step between spool and transport: turns one spooled message plus its
// pending recipients into the messages that actually leave (pass-through now;
// policy -> scrub -> seal once those modules are wired in). Never emits a
// half-transformed message: a recipient either gets a complete outgoing
// message or a deferral/failure with a reason.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "relay/delivery/transport.h"
#include "relay/spool/spool.h"

namespace sealpost {

struct PreparedMessage {
  OutboundMessage message;  // rcpts: the recipients this copy is for
  std::string method;       // "plain", "pgp", "smime", "pickup-notice", ...
};

struct RecipientHold {
  std::string address;
  Error error;  // temporary -> retry later; permanent -> DSN and done
  // Keep in the spool for an admin instead (RcptStatus::Held): retrying cannot
  // help and a bounce would lose the message (policy hold, unprocessable MIME).
  bool for_admin = false;
};

struct TransformResult {
  std::vector<PreparedMessage> outgoing;
  std::vector<RecipientHold> held;
};

class Transformer {
 public:
  virtual ~Transformer() = default;
  // `pending` lists the recipients still to deliver; `data` is the spooled
  // message (in memory, or read in pieces from the spool when it is big).
  virtual TransformResult prepare(const SpoolEnvelope& envelope,
                                  const std::vector<SpoolRecipient>& pending, const Body& data) = 0;
};

}  // namespace sealpost
