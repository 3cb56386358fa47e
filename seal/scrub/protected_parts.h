// Which signed or encrypted MIME subtrees the scrub must leave alone. A label
// is not enough: a hand-made "multipart/signed" with a junk signature would
// otherwise carry photos, PDFs and HTML out unscrubbed. A subtree is left
// alone only when its structure holds (RFC 1847/3156/8551): the key-less
// checks that a signature or ciphertext is really there.
#pragma once

#include <gmime/gmime.h>

#include <cstddef>
#include <string_view>

namespace sealpost::scrub {

// One or more OpenPGP signature packets (tag 2, version 3..6), binary or in
// one "PGP SIGNATURE" armor block, and nothing else.
bool is_openpgp_signature(std::string_view body);

// One complete CMS ContentInfo of type SignedData with at least one
// SignerInfo; `detached` asks for no encapsulated content (multipart/signed),
// otherwise the content must be inside (application/pkcs7-mime signed-data).
bool is_cms_signed(std::string_view der, bool detached);

// multipart/signed with exactly two parts whose second is a leaf of the type
// named by `protocol` holding a real OpenPGP or CMS detached signature.
bool is_intact_signed(GMimeObject* obj, std::size_t cap);

// PGP/MIME multipart/encrypted (control part "Version: 1" plus an OpenPGP
// encrypted message) or application/pkcs7-mime holding CMS EnvelopedData /
// AuthEnvelopedData or opaque SignedData: the rules seal/message_facts uses
// for "already encrypted", applied to any subtree.
bool is_real_ciphertext(GMimeObject* obj, std::size_t cap);

}  // namespace sealpost::scrub
