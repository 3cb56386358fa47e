#include "relay/delivery/pass_through_transformer.h"

namespace sealpost::delivery {

OutboundMessage outbound_for(const SpoolEnvelope& envelope,
                             const std::vector<SpoolRecipient>& rcpts, const Body& data) {
  OutboundMessage msg;
  msg.mail_from = envelope.mail_from;
  msg.ret = envelope.ret;
  msg.envid = envelope.envid;
  msg.smtputf8 = envelope.smtputf8;
  msg.eight_bit = envelope.body == "8BITMIME";
  msg.rcpts.reserve(rcpts.size());
  for (const auto& r : rcpts) msg.rcpts.push_back(OutboundRecipient{r.address, r.notify, r.orcpt});
  msg.data = data;
  return msg;
}

TransformResult PassThroughTransformer::prepare(const SpoolEnvelope& envelope,
                                                const std::vector<SpoolRecipient>& pending,
                                                const Body& data) {
  TransformResult result;
  if (pending.empty()) return result;
  result.outgoing.push_back(PreparedMessage{outbound_for(envelope, pending, data), "plain"});
  return result;
}

}  // namespace sealpost::delivery
