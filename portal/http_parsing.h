// Pure parsing for the portal's HTTP requests (no sockets, fuzzable): routes,
// cookies, forms, multipart bodies, Accept-Language and X-Forwarded-For. Every
// function bounds what it accepts and returns nullopt/empty on anything odd.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.h"

namespace sealpost::portal {

enum class RouteKind {
  Link,          // GET  /p/<id>/<secret>
  Auth,          // GET  /auth
  SendCode,      // POST /auth/send
  Verify,        // POST /auth/verify
  AuthPassword,  // POST /auth/password (portal password instead of the code)
  SetPassword,   // GET|POST /password (set a portal password after a pickup)
  Read,          // GET  /read
  Attachment,    // GET  /att/<n>
  Reply,         // GET|POST /reply
  Done,          // GET  /done
  Logout,        // POST /logout
  Stylesheet,    // GET  /portal.css
  NotFound,
};

struct Route {
  RouteKind kind = RouteKind::NotFound;
  std::string pickup_id;
  std::string secret;  // still encoded; decode_link_secret checks it
  std::size_t index = 0;
};

// `target` is the request-target (origin-form); a query string is ignored.
Route route(std::string_view target);

std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

// application/x-www-form-urlencoded; nullopt if malformed or over the limits.
std::optional<std::map<std::string, std::string>> parse_form(std::string_view body,
                                                             std::size_t max_fields = 16);

struct FormPart {
  std::string name;
  std::string filename;  // empty for plain fields
  std::string content_type;
  std::string data;
};

struct MultipartLimits {
  std::size_t max_parts = 12;
  std::size_t max_header_bytes = 2048;
};

// multipart/form-data (RFC 7578); nullopt if malformed or over the limits.
std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body,
                                                     const MultipartLimits& limits = {});

// "de" or "en" (the default) by the highest-q supported Accept-Language entry.
std::string choose_language(std::string_view accept_language);

// The client's address: the peer, unless the peer is a trusted proxy, then the
// right-most untrusted X-Forwarded-For entry (at most 32 hops from the right).
std::string client_address(const std::string& peer, std::string_view forwarded_for,
                           const std::vector<Cidr>& trusted_proxies);

// Several header lines of one list-valued field (X-Forwarded-For) as the one
// comma-separated value RFC 9110 §5.3 says they mean, in their order.
std::string join_header_lines(const std::vector<std::string_view>& lines);

// attachment; filename="ascii-fallback"; filename*=UTF-8''percent-encoded
std::string attachment_disposition(std::string_view filename_utf8);

}  // namespace sealpost::portal
