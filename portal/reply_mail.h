// Builds the RFC 5322 message a patient's portal reply becomes: from the
// patient to the staff sender, text plus attachments, all parts base64 so no
// line-length or 8-bit issue can reach the relay. Header values are checked.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "portal/http_parsing.h"

namespace sealpost::portal {

struct ReplyMail {
  std::string from_address;  // the patient (pickup recipient)
  std::string to_address;    // the staff sender
  std::string subject;       // "Re: <original subject>" (untrusted, sanitised here)
  std::string pickup_id;
  std::string text;
  std::vector<FormPart> files;
};

Result<std::string> compose_reply(const ReplyMail& r, std::int64_t now);

// A short plain-text mail to staff (codes to give by phone, lock notices).
Result<std::string> compose_staff_mail(const std::string& from, const std::string& to,
                                       const std::string& subject, const std::string& body,
                                       std::int64_t now);

}  // namespace sealpost::portal
