// The seam between delivery and the pickup portal: delivery deposits a sealed
// (scrubbed) message for a recipient without keys and gets back what the
// notice mail needs. Implemented by portal/pickup_store; the link secret lives
// only in the returned URL, never on disk.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost {

struct PickupRequest {
  std::string queue_id;
  std::string recipient;
  std::string sender;
  std::string auth_method;  // sms | passphrase | code-to-sender
  std::chrono::seconds expires{30 * 24 * 3600};
  std::string sms_number;  // from the consent registry or a [sms:+49...] subject tag
  // For auth_method "passphrase": the argon2id encoded hash ($argon2id$...) agreed
  // with the patient (consent record). Stored only inside the link-wrapped key material.
  std::string passphrase_hash;
};

struct PickupDeposit {
  std::string pickup_id;
  std::string url;              // full link including the secret
  std::int64_t expires_at = 0;  // unix seconds
};

class PickupService {
 public:
  virtual ~PickupService() = default;
  // Stores `mime` (the complete scrubbed message) encrypted; durable on return.
  virtual Result<PickupDeposit> deposit(const PickupRequest& req, std::string_view mime) = 0;
  // Shreds a deposit whose notice never left (a retry deposits afresh, and a
  // link nobody received must not keep the message readable).
  virtual Result<void> withdraw(const std::string& pickup_id) = 0;
};

}  // namespace sealpost
