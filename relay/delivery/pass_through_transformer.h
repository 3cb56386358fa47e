// The transformer used until policy/seal are wired in: one outgoing copy for all
// pending recipients, data unchanged (method "plain").
#pragma once

#include "relay/delivery/transform.h"

namespace sealpost::delivery {

class PassThroughTransformer final : public Transformer {
 public:
  TransformResult prepare(const SpoolEnvelope& envelope, const std::vector<SpoolRecipient>& pending,
                          const Body& data) override;
};

// The envelope parameters every outgoing copy of `envelope` carries (also used
// by the scheduler for DSNs, which skip the transformer).
OutboundMessage outbound_for(const SpoolEnvelope& envelope,
                             const std::vector<SpoolRecipient>& rcpts, const Body& data);

}  // namespace sealpost::delivery
