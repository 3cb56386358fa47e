#include "portal/sms_failure_marker.h"

#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/durable_file.h"
#include "common/log.h"

namespace sealpost::portal {

std::filesystem::path sms_failure_marker(const std::filesystem::path& state_dir) {
  return state_dir / "portal-audit" / "sms-failure";
}

void record_sms_outcome(const std::filesystem::path& state_dir, const Result<void>& sent) {
  const auto marker = sms_failure_marker(state_dir);
  if (sent) {
    if (::unlink(marker.c_str()) != 0 && errno != ENOENT)
      log::warn("portal.sms_marker", {{"path", marker.string()}, {"errno", errno}});
    return;
  }
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char when[32];
  (void)std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  // The reason names the command's status or libcurl's error, never the number.
  std::string text = when;
  text += ' ';
  text += sent.error().what();
  for (char& ch : text)
    if (ch == '\n' || ch == '\r') ch = ' ';
  text += '\n';
  if (auto w = write_file_durable(marker, text, 0640); !w)
    log::warn("portal.sms_marker", {{"path", marker.string()}, {"reason", w.error().what()}});
}

std::optional<std::string> last_sms_failure(const std::filesystem::path& state_dir) {
  auto text = read_file(sms_failure_marker(state_dir), 4096);
  if (!text) return std::nullopt;
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  return *text;
}

}  // namespace sealpost::portal
