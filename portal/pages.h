// The portal's HTML pages in German and English: static markup with every
// dynamic value escaped, one stylesheet from /portal.css, no script at all.
// Layout is a single column that works from 360 px up; every input has a label.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "portal/message_view.h"

namespace sealpost::portal {

// Translated UI text by key ("auth.title", ...); unknown keys return the key.
const std::string& text(std::string_view lang, std::string_view key);

struct AuthPageModel {
  std::string method;  // sms | passphrase | code-to-sender
  std::string csrf;
  bool code_sent = false;
  std::string error_key;  // "" or a text() key
  int attempts_left = -1;
  int code_minutes = 10;         // portal.code_ttl
  bool portal_password = false;  // the patient has one: offer it instead of the code
};

std::string render_auth(std::string_view lang, const AuthPageModel& m);
// `offer_password`: invite the patient to set a portal password (optional).
std::string render_read(std::string_view lang, const MessageView& v, std::string_view csrf,
                        bool offer_password = false);
// Set a portal password; `error_key` "" or a text() key; `saved` shows the confirmation.
std::string render_password(std::string_view lang, std::string_view csrf,
                            std::string_view error_key, bool saved = false);
std::string render_reply(std::string_view lang, std::string_view csrf, std::string_view error_key);
std::string render_done(std::string_view lang);
// Full-page notice for link problems, locks, logouts and errors.
// A same-site hop to `target` (meta refresh plus a plain link): the answer to
// a link opened from webmail, whose cross-site navigation would not carry the
// SameSite=Strict session cookie through a redirect.
std::string render_continue(std::string_view lang, std::string_view target);
std::string render_notice(std::string_view lang, std::string_view title_key,
                          std::string_view body_key);
const std::string& stylesheet();

}  // namespace sealpost::portal
