// Which envelope recipients the message itself shows (To and Cc). Everyone
// else is a blind copy: encrypting them into the same ciphertext as the
// visible recipients would list their key IDs (OpenPGP PKESK packets, CMS
// RecipientInfos) to everyone who receives it, undoing the Bcc.
#pragma once

#include <set>
#include <string>

#include "seal/gmime_ptr.h"

namespace sealpost::seal {

// Lower-cased mailbox addresses of To and Cc, group members included.
std::set<std::string> visible_recipients(GMimeMessage* message);

}  // namespace sealpost::seal
