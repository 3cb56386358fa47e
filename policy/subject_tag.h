// Subject tags such as "[secure]": staff type them to ask for protection; the
// tag is found case-insensitively and removed before the mail leaves.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sealpost::policy {

// Position of `tag` in `subject` ignoring ASCII case, or npos.
std::size_t find_subject_tag(std::string_view subject, std::string_view tag);
// `subject` without the first occurrence of `tag` and the blanks around it
// collapsed to one; nullopt when the tag is not there.
std::optional<std::string> remove_subject_tag(std::string_view subject, std::string_view tag);

}  // namespace sealpost::policy
