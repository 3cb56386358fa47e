// Reads the `scrub_profiles:` section of policy.yaml into ScrubProfile structs
// (seal/scrub/scrub_profile.h). `standard` is built in and cannot be redefined,
// so the safe baseline always means the same thing.
#pragma once

#include <map>
#include <string>

#include "config/yaml_reader.h"
#include "seal/scrub/scrub_profile.h"

namespace sealpost::policy {

// `node` is the value of `scrub_profiles:` (a mapping name -> profile) or
// undefined; the result always contains "standard".
std::map<std::string, ScrubProfile> read_scrub_profiles(const YamlReader& r,
                                                        const YAML::Node& node);

}  // namespace sealpost::policy
