// The one list of keys sealpost.yaml accepts. The loader checks every mapping
// against it, and the documentation test checks every entry is described in
// man/sealpost.yaml.5, so a key cannot be added without being documented.
#pragma once

#include <string>
#include <vector>

namespace sealpost {

struct ConfigSection {
  std::string path;               // "" (top level), "smarthost", "listen[]", "listen[].tls"
  std::vector<std::string> keys;  // keys accepted directly inside it
};

const std::vector<ConfigSection>& config_sections();
// The keys of one section (empty when the path is not a section).
const std::vector<std::string>& config_section_keys(const std::string& path);

// Every accepted key as a dotted path: "state_dir", "smarthost", "smarthost.ca_file",
// "listen", "listen[].tls", "listen[].tls.cert", ... (sections included).
const std::vector<std::string>& config_known_keys();

}  // namespace sealpost
