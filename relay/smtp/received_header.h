// Our own Received: line, the only change Sealpost makes to a message on the
// way in. It names the relay and the protocol but deliberately no client IP
// and no client HELO name (they would leak the practice's internal network).
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace sealpost::smtp {

// RFC 3848 / RFC 6531 "with" keyword, e.g. ESMTPSA.
std::string with_protocol(bool ehlo, bool tls, bool authenticated, bool smtputf8);

// "Received: from LABEL by HOST (Sealpost) with PROTO id ID;\r\n\tDATE\r\n"
// RFC 5321 §4.4 requires a FROM clause; LABEL names the listener mode
// ("submission" or "filter") in place of the client's IP and HELO name.
std::string received_header(std::string_view from_label, std::string_view hostname,
                            std::string_view protocol, std::string_view id, std::time_t now);

// RFC 5322 date-time in UTC, independent of the process locale.
std::string rfc5322_date(std::time_t now);

}  // namespace sealpost::smtp
