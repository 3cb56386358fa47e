// Parsing of the MAIL FROM / RCPT TO arguments: the path in angle brackets
// and the ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH; NOTIFY,
// ORCPT). Pure functions over one already length-bounded command line;
// every refusal is an Error carrying the reply to send.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost::smtp {

struct ParsedPath {
  std::string address;      // without brackets; "" = null reverse-path "<>"
  bool non_ascii = false;   // needs SMTPUTF8 (RFC 6531)
  std::string_view params;  // the rest of the line, parameters only
};

struct MailParams {
  std::optional<std::uint64_t> size;  // SIZE= as declared by the client
  std::string body;                   // 7BIT | 8BITMIME | ""
  bool smtputf8 = false;
  std::string ret;    // FULL | HDRS | ""
  std::string envid;  // xtext as received
};

struct RcptParams {
  std::string notify;  // normalized: NEVER or e.g. SUCCESS,FAILURE ("" if absent)
  std::string orcpt;   // "addr-type;xtext" as received
};

// Case-insensitive prefix test for command words ("MAIL FROM:").
bool starts_with_nocase(std::string_view s, std::string_view prefix);

// `arg` follows "FROM:" or "TO:". One space before "<" is tolerated, as most
// servers do; anything else around the path is a syntax error (501 5.5.4).
Result<ParsedPath> parse_path(std::string_view arg, bool allow_null);
Result<MailParams> parse_mail_params(std::string_view params);
Result<RcptParams> parse_rcpt_params(std::string_view params);

// RFC 3461 xtext: printable ASCII except "+" and "=", or "+XX" hex escapes.
bool is_xtext(std::string_view s);

}  // namespace sealpost::smtp
