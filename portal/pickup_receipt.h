// The pickup receipt ("abgeholt am ...") the staff sender gets when a patient
// first passes the second factor for a pickup (portal.pickup_receipt). It
// names the recipient, the pickup id and the time, in German and English, and
// nothing of the message: no subject, no filenames, no content.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace sealpost::portal {

struct PickupReceipt {
  std::string from;       // portal.mail_from
  std::string to;         // the staff sender
  std::string recipient;  // the patient
  std::string pickup_id;
  std::string practice_name;
  std::int64_t picked_up = 0;  // unix seconds
};

// A complete RFC 5322 message (CRLF), ready for SMTP.
Result<std::string> compose_pickup_receipt(const PickupReceipt& r, std::int64_t now);

}  // namespace sealpost::portal
