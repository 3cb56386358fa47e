#include "portal/pickup_receipt.h"

#include <ctime>

#include "portal/notice.h"
#include "portal/reply_mail.h"

namespace sealpost::portal {
namespace {

std::string when(std::int64_t t, bool german) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  const std::size_t n = std::strftime(
      buf, sizeof buf, german ? "%d.%m.%Y um %H:%M UTC" : "%Y-%m-%d at %H:%M UTC", &tm);
  return std::string(buf, n);
}

}  // namespace

Result<std::string> compose_pickup_receipt(const PickupReceipt& r, std::int64_t now) {
  // The recipient lands in the subject and body: only a plain address.
  if (!pickup::safe_addr_spec(r.recipient)) return Error::plain("receipt: unsafe recipient");
  if (!pickup::safe_header_value(r.practice_name) || !pickup::safe_header_value(r.pickup_id))
    return Error::plain("receipt: unsafe value");
  const std::string body =
      "Die sichere Nachricht " + r.pickup_id + " an " + r.recipient + " wurde am " +
      when(r.picked_up, true) +
      " abgeholt.\n\n"
      "The secure message " +
      r.pickup_id + " to " + r.recipient + " was picked up on " + when(r.picked_up, false) +
      ".\n\n"
      "-- \n" +
      r.practice_name +
      " – Abholportal / pickup portal (automatische Nachricht / automatic message)\n";
  return compose_staff_mail(r.from, r.to, "Abgeholt / Picked up: " + r.recipient, body, now);
}

}  // namespace sealpost::portal
