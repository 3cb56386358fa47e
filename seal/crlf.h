// Line-end and transfer-encoding helpers for the bytes that get signed,
// encrypted and sent: SMTP and CMS both want canonical CRLF.
#pragma once

#include <string>
#include <string_view>

namespace sealpost::seal {

// Every bare LF or bare CR becomes CRLF; existing CRLF stays.
std::string canonical_crlf(std::string_view in);
// RFC 2045 base64 with 76-character lines and CRLF line ends.
std::string base64_lines(std::string_view bytes);

}  // namespace sealpost::seal
