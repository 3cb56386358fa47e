// Fuzzes the portal's request parsing without sockets: the first byte picks
// the parser, the rest is its input. Each parser must return (no crash, no
// hang) and keep its output within the input's bounds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "portal/html_sanitizer.h"
#include "portal/http_parsing.h"

using namespace sealpost;
using namespace sealpost::portal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const std::vector<Cidr> proxies{*Cidr::parse("127.0.0.0/8"), *Cidr::parse("::1/128")};
  switch (data[0] % 7) {
    case 0: {
      Route r = route(in);
      if (r.pickup_id.size() + r.secret.size() > in.size()) __builtin_trap();
      break;
    }
    case 1:
      (void)cookie_value(in, "sp_session");
      break;
    case 2:
      (void)parse_form(in);
      break;
    case 3: {
      // "content-type\n\nbody": the header line and the body both come from the input.
      const std::size_t split = in.find("\n\n");
      const std::string_view ct = split == std::string_view::npos ? in : in.substr(0, split);
      const std::string_view body =
          split == std::string_view::npos ? std::string_view() : in.substr(split + 2);
      if (auto parts = parse_multipart(ct, body)) {
        std::size_t total = 0;
        for (const auto& p : *parts) total += p.data.size();
        if (total > body.size()) __builtin_trap();
      }
      break;
    }
    case 4: {
      const std::string lang = choose_language(in);
      if (lang != "de" && lang != "en") __builtin_trap();
      (void)client_address("127.0.0.1", in, proxies);
      break;
    }
    case 5: {
      const std::string d = attachment_disposition(in);
      if (d.find_first_of("\r\n") != std::string::npos) __builtin_trap();
      break;
    }
    case 6: {
      const std::string out = sanitize_html(in);
      if (out.find("<script") != std::string::npos || out.find("<img") != std::string::npos)
        __builtin_trap();
      break;
    }
  }
  return 0;
}
