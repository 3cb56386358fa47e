// One delivery attempt for one spooled message: pick the recipients that are
// due, let the transformer prepare their copies, hand them to the transport and
// record every recipient's outcome durably (delivered / deferred / failed + DSN).
// The scheduler decides *when*; this decides *what happens*.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit/audit_sink.h"
#include "config/config.h"
#include "relay/delivery/transform.h"
#include "relay/delivery/transport.h"
#include "relay/spool/spool.h"

namespace sealpost::delivery {

struct AttemptContext {
  QueueConfig queue;
  std::string hostname;    // Reporting-MTA of our DSNs
  std::string remote_mta;  // the smarthost, named in DSNs
  Spool& spool;
  Transformer& transformer;
  Transport& transport;
  AuditSink& audit;
};

struct AttemptResult {
  enum class Next { Done, RetryAt, Gone };
  Next next = Next::Done;
  std::int64_t retry_at = 0;         // unix seconds, for RetryAt
  std::vector<std::string> new_ids;  // DSNs spooled by this attempt: deliver them now
};

// force: ignore next_attempt (queue flush). now: unix seconds.
AttemptResult attempt_message(AttemptContext& ctx, const std::string& id, bool force,
                              std::int64_t now);

}  // namespace sealpost::delivery
