// The mail a recipient without keys receives instead of the message: who sent
// something, the pickup link and when it expires. It never contains the
// subject or any content. The portal owns richer templates; this is the seam.
#pragma once

#include <cstdint>
#include <string>

namespace sealpost::seal {

struct PickupNoticeInput {
  std::string from_header;      // the original From field value (raw, as sent)
  std::string recipient;        // envelope recipient
  std::string url;              // pickup link including the secret
  std::int64_t expires_at = 0;  // unix seconds
  std::string hostname;         // for the Message-ID
};

// Complete RFC 5322 message with CRLF line ends.
std::string compose_pickup_notice(const PickupNoticeInput& in);

}  // namespace sealpost::seal
