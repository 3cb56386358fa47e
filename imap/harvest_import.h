// The gpg side of key harvesting: imports a key learnt from mail so that it
// carries ONLY the user ids of the address it arrived from. A key mailed by
// anna@x that also names lab@partner.example must never become a key for the
// lab (nor make the lab's forged signatures read as "valid"). gpg's import
// filter strips the other user ids; afterwards the stored key is checked
// again and removed when anything foreign or unusable is left.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "keystore/pgp_keyring.h"

namespace sealpost::imap {

// True when `address` can be put into a gpg filter expression verbatim: one
// '@', no whitespace, quotes, '&', '|' or other characters that could change
// the expression (addresses needing those are simply not harvested).
bool harvestable_address(std::string_view address);

// Imports the single public key in `keydata` restricted to the user ids whose
// address is exactly `address` (local part exact, domain case-insensitive).
// The caller has checked that the key is not in the keyring yet, so a failed
// check may delete it again without touching anything the admin imported.
// Returns the fingerprint of the imported key.
Result<std::string> import_for_address(keystore::PgpKeyring& keyring, const std::string& keydata,
                                       const std::string& address);

// Whether the keyring already holds a public key with this fingerprint.
Result<bool> keyring_has(keystore::PgpKeyring& keyring, const std::string& fingerprint);

}  // namespace sealpost::imap
