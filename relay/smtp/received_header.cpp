#include "relay/smtp/received_header.h"

#include <cstdio>

namespace sealpost::smtp {

std::string with_protocol(bool ehlo, bool tls, bool authenticated, bool smtputf8) {
  std::string p = smtputf8 ? "UTF8SMTP" : (ehlo ? "ESMTP" : "SMTP");
  if (p == "SMTP" && (tls || authenticated)) p = "ESMTP";  // S/A suffixes exist only for ESMTP
  if (tls) p += 'S';
  if (authenticated) p += 'A';
  return p;
}

std::string rfc5322_date(std::time_t now) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %d %s %d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string received_header(std::string_view from_label, std::string_view hostname,
                            std::string_view protocol, std::string_view id, std::time_t now) {
  // The hostname comes from our own validated config; still keep the header
  // a single well-formed field whatever it contains.
  std::string host;
  for (char c : hostname)
    if (c > 0x20 && c < 0x7f && c != ';') host += c;
  if (host.empty()) host = "localhost";
  std::string h = "Received: from ";
  h += from_label;
  h += " by ";
  h += host;
  h += " (Sealpost) with ";
  h += protocol;
  h += " id ";
  h += id;
  h += ";\r\n\t";
  h += rfc5322_date(now);
  h += "\r\n";
  return h;
}

}  // namespace sealpost::smtp
