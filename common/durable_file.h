// Crash-safe file writes: write to a temp file in the same directory, fsync it,
// rename over the target, fsync the directory (the OpenSMTPD/Postfix habit).
// ENOSPC and friends surface as 452 4.3.1 so SMTP callers can answer directly.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost {

// Atomically replaces `path` with `data` (mode 0600 unless given).
Result<void> write_file_durable(const std::filesystem::path& path, std::string_view data,
                                int mode = 0600);
// Like write_file_durable, but the new file keeps the owner and mode of the
// one it replaces: root running the CLI (`queue flush`) must not leave spool
// files the daemon's user can no longer rewrite.
Result<void> replace_file_durable(const std::filesystem::path& path, std::string_view data);
// fsync a directory so a rename or unlink inside it survives a crash.
Result<void> fsync_dir(const std::filesystem::path& dir);
// Reads a whole file; refuses files larger than max_bytes.
Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes = 64u << 20);
// Maps errno from a write/fsync into the right Error (disk full -> 452 4.3.1).
Error io_error(int err, std::string_view what, const std::filesystem::path& path);

}  // namespace sealpost
