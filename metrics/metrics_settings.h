// The `metrics:` section of sealpost.yaml:
//
//   metrics:
//     listen: "127.0.0.1:9187"   # loopback only; omit the section to serve nothing
//
// Read here so the metrics module owns its keys; config_keys.cpp must still
// list them for the main loader to accept the file.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace sealpost::metrics {

struct MetricsSettings {
  std::optional<std::string> listen;  // none: no endpoint
};

Result<MetricsSettings> load_metrics_settings(const std::string& config_path);
Result<MetricsSettings> parse_metrics_settings(const std::string& yaml_text,
                                               const std::string& name);

}  // namespace sealpost::metrics
