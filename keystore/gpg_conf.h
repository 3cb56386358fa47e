// The settings Sealpost needs in its own GnuPG home's gpg.conf, written at
// every keyring open: gpg picks the cipher from the recipient key's
// preferences (3DES or CAST5 for old keys) unless personal preferences say
// otherwise, and an admin's line such as `cipher-algo 3DES` or `rfc2440`
// would silently weaken every signed PGP/MIME message. The managed block
// sits at the end (gpg takes the last value of a repeated option); the
// admin's other lines are kept, risky ones are commented out with a note.
#pragma once

#include <string>

#include "common/result.h"

namespace sealpost::keystore {

// The new gpg.conf text for the current `existing` one ("" when none).
std::string managed_gpg_conf(const std::string& existing);

// Rewrites `path` (0600, durably) when managed_gpg_conf() differs from it.
Result<void> refresh_gpg_conf(const std::string& path);

}  // namespace sealpost::keystore
