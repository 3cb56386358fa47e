// What policy::decide() may know about a message: subject, headers, whether
// it has attachments and whether it is already encrypted or signed.
#pragma once

#include <string_view>

#include "policy/plan.h"
#include "seal/gmime_ptr.h"

namespace sealpost::seal {

policy::MessageFacts message_facts(GMimeMessage* message);

// PGP/MIME, S/MIME enveloped/authEnveloped, or an inline-PGP text body.
bool is_already_encrypted(GMimeMessage* message);

}  // namespace sealpost::seal
