// What the read page shows of a sealed message, parsed with GMime: the
// headers a patient needs, the text (or sanitised HTML) body and the list of
// attachments with their exact bytes. Parsing is bounded by part count and
// nesting depth.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sealpost::portal {

struct Attachment {
  std::string filename;  // UTF-8, may be empty
  std::string content_type;
  std::string data;  // decoded bytes, exactly as sent
};

struct MessageView {
  std::string from;
  std::string subject;
  std::string date;
  std::string text;       // text/plain body (UTF-8), empty if none
  std::string safe_html;  // sanitize_html() of the text/html body when there is no text
  std::vector<Attachment> attachments;
};

Result<MessageView> parse_message(std::string_view mime);

}  // namespace sealpost::portal
