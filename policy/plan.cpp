#include "policy/plan.h"

#include <optional>
#include <string_view>

#include "policy/policy.h"

namespace sealpost::policy {

const char* method_name(Method m) {
  switch (m) {
    case Method::Pgp:
      return "pgp";
    case Method::Smime:
      return "smime";
    case Method::Pickup:
      return "pickup";
    case Method::Plain:
      return "plain";
    case Method::Reject:
      return "reject";
    case Method::Hold:
      return "hold";
    case Method::Defer:
      return "defer";
  }
  return "defer";
}

std::optional<Method> parse_method(std::string_view word) {
  for (Method m :
       {Method::Pgp, Method::Smime, Method::Pickup, Method::Plain, Method::Reject, Method::Hold})
    if (word == method_name(m)) return m;
  return std::nullopt;
}

}  // namespace sealpost::policy
