#include "policy/scrub_profile_reader.h"

#include "policy/policy_keys.h"

namespace sealpost::policy {
namespace {

bool is_profile_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

// Header names as in RFC 5322 (printable ASCII, no ':'), plus '*' for globs.
bool is_header_name(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (c <= 0x20 || c >= 0x7f || c == ':') return false;
  return true;
}

std::vector<std::string> header_list(const YamlReader& r, const YAML::Node& n,
                                     const std::string& what) {
  auto names = r.string_list(n, what);
  std::size_t i = 0;
  for (const auto& h : names) {
    if (!is_header_name(h))
      r.fail(n[i], what + ": '" + YamlReader::shorten(h) + "' is not a header name");
    ++i;
  }
  return names;
}

ScrubProfile read_profile(const YamlReader& r, const YAML::Node& n, const std::string& name) {
  const std::string section = "scrub_profiles." + name;
  r.check_map(n, section, policy_section_keys("scrub_profiles.*"));
  ScrubProfile p;
  p.name = name;
  if (auto v = n["headers"])
    p.header_mode = r.choice<ScrubProfile::HeaderMode>(
        v, section + ".headers",
        {{"strip", ScrubProfile::HeaderMode::Strip}, {"allow", ScrubProfile::HeaderMode::Allow}});
  if (auto v = n["remove_headers"])
    p.remove_headers = header_list(r, v, section + ".remove_headers");
  if (auto v = n["keep_headers"]) {
    p.keep_headers = header_list(r, v, section + ".keep_headers");
    if (p.header_mode != ScrubProfile::HeaderMode::Allow)
      r.fail(v, section + ".keep_headers: only used with 'headers: allow'");
  }
  auto flag = [&](const char* key, bool& out) {
    if (auto v = n[key]) out = r.boolean(v, section + "." + key);
  };
  flag("rewrite_message_id", p.rewrite_message_id);
  flag("image_metadata", p.image_metadata);
  flag("pdf_metadata", p.pdf_metadata);
  flag("office_metadata", p.office_metadata);
  flag("html_remote_content", p.html_remote_content);
  flag("pass_unscrubbable", p.pass_unscrubbable);
  return p;
}

}  // namespace

std::map<std::string, ScrubProfile> read_scrub_profiles(const YamlReader& r,
                                                        const YAML::Node& node) {
  std::map<std::string, ScrubProfile> profiles;
  profiles.emplace("standard", ScrubProfile{});
  if (!node) return profiles;
  if (!node.IsMap()) r.fail(node, "scrub_profiles: expected a mapping of profile names");
  for (auto it = node.begin(); it != node.end(); ++it) {
    // A copy: it->first lives in a proxy that dies at the end of the statement.
    const YAML::Node key = it->first;
    std::string name = r.string(key, "scrub_profiles");
    if (!is_profile_name(name))
      r.fail(key, "scrub_profiles: '" + YamlReader::shorten(name) +
                      "' is not a profile name (a-z, 0-9, '-', '_')");
    if (name == "standard")
      r.fail(key, "scrub_profiles: 'standard' is built in; give your profile another name");
    if (it->second.IsNull()) r.fail(key, "scrub_profiles." + name + ": has no value (write {})");
    if (!profiles.emplace(name, read_profile(r, it->second, name)).second)
      r.fail(key, "scrub_profiles: duplicate profile '" + name + "'");
  }
  return profiles;
}

}  // namespace sealpost::policy
