// A random secret key kept in a file of its own (mode 0600, directory 0700),
// created on first use: the Message-ID mapping key, the IMAP copy-mark key.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace sealpost {

// The key in `path`; a fresh `bytes`-long one is written there when the file
// does not exist. A file of another length is an error, never silently replaced.
Result<std::string> load_or_create_key(const std::string& path, std::size_t bytes);

}  // namespace sealpost
