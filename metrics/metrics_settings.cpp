#include "metrics/metrics_settings.h"

#include "common/durable_file.h"
#include "config/host_port.h"
#include "config/yaml_reader.h"

namespace sealpost::metrics {

Result<MetricsSettings> parse_metrics_settings(const std::string& yaml_text,
                                               const std::string& name) {
  return run_yaml_loader<MetricsSettings>([&] {
    YamlReader r(name, std::filesystem::path(name).parent_path());
    const YAML::Node root = r.parse(yaml_text);
    MetricsSettings s;
    if (!root.IsMap() || !root["metrics"]) return s;
    const YAML::Node m = root["metrics"];
    r.check_map(m, "metrics", {"listen"});
    if (const YAML::Node n = m["listen"]) {
      const std::string listen = r.string(n, "metrics.listen");
      auto hp = parse_host_port(listen);
      if (!hp || !hp->host_is_ip) r.fail(n, "metrics.listen: expected an IP address and port");
      if (hp->host.rfind("127.", 0) != 0 && hp->host != "::1")
        r.fail(n,
               "metrics.listen: must be a loopback address (the endpoint has no authentication)");
      s.listen = listen;
    }
    return s;
  });
}

Result<MetricsSettings> load_metrics_settings(const std::string& config_path) {
  auto text = read_file(config_path, 1u << 20);
  if (!text) return text.error();
  return parse_metrics_settings(*text, config_path);
}

}  // namespace sealpost::metrics
