// Autocrypt header parsing (Autocrypt Level 1 §2.1): "addr=...; [prefer-encrypt=
// mutual;] keydata=BASE64". Unknown attributes without a leading '_' make the
// header invalid; the addr must be the sender's From address. Pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sealpost::imap {

struct AutocryptHeader {
  std::string addr;
  std::string keydata;  // binary OpenPGP transferable public key
  bool prefer_mutual = false;
};

std::optional<AutocryptHeader> parse_autocrypt(std::string_view value);

// The one usable Autocrypt header for `from` among all of a message's values:
// none when zero or several match (§2.3: ambiguous means none).
std::optional<AutocryptHeader> pick_autocrypt(const std::vector<std::string>& values,
                                              std::string_view from);

}  // namespace sealpost::imap
