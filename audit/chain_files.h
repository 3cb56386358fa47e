// Where a chain lives on disk: one file per UTC day, "audit-YYYY-MM-DD.jsonl",
// in one directory. Daily files make retention a matter of deleting whole files
// (after a checkpoint record, see audit_log.h) and keep any one file small.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sealpost::audit {

using Clock = std::chrono::system_clock;

// "YYYY-MM-DD" (UTC) of a point in time.
std::string day_of(Clock::time_point t);
// "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC).
std::string format_time(Clock::time_point t);
// Inverse of format_time(); nothing for anything else.
std::optional<Clock::time_point> parse_time(std::string_view text);
// True for a well-formed calendar day "YYYY-MM-DD" (used for CLI arguments too).
bool is_valid_day(std::string_view day);

std::string file_name_for_day(std::string_view day);
// The day a chain file belongs to, or nothing when the name is not a chain file.
std::optional<std::string> day_of_file(const std::filesystem::path& file);
// The chain files of `dir`, oldest first; other files are ignored. A directory
// that cannot be listed (missing, no permission) sets `ec` and yields nothing.
std::vector<std::filesystem::path> chain_files(const std::filesystem::path& dir,
                                               std::error_code& ec);
// Same, for callers to whom an unlistable directory simply holds no files.
std::vector<std::filesystem::path> chain_files(const std::filesystem::path& dir);

}  // namespace sealpost::audit
