#include "portal/pages.h"

#include <map>
#include <utility>

#include "portal/html_sanitizer.h"

namespace sealpost::portal {
namespace {

using Pair = std::pair<std::string, std::string>;  // de, en

const std::map<std::string, Pair, std::less<>>& table() {
  static const std::map<std::string, Pair, std::less<>> t = {
      {"site", {"Sicheres Abholportal", "Secure pickup portal"}},
      {"auth.title", {"Identität bestätigen", "Confirm your identity"}},
      {"continue.title", {"Nachricht öffnen", "Open your message"}},
      {"continue.link", {"Weiter", "Continue"}},
      {"auth.sms",
       {"Wir senden Ihnen einen Bestätigungscode per SMS an die hinterlegte Telefonnummer.",
        "We send a confirmation code by text message to the phone number on file."}},
      {"auth.code-to-sender",
       {"Den Bestätigungscode erhalten Sie telefonisch von der Praxis. Fordern Sie ihn hier an und "
        "rufen Sie dann die Praxis an.",
        "The practice gives you the confirmation code by phone. Request it here, then call the "
        "practice."}},
      {"auth.passphrase",
       {"Bitte geben Sie das mit der Praxis vereinbarte Kennwort ein.",
        "Please enter the password you agreed with the practice."}},
      {"auth.send", {"Code anfordern", "Request code"}},
      {"auth.resend", {"Neuen Code anfordern", "Request a new code"}},
      // {minutes}: portal.code_ttl
      {"auth.sent",
       {"Der Code wurde versandt. Er ist {minutes} Minuten gültig.",
        "The code has been sent. It is valid for {minutes} minutes."}},
      {"auth.portal_password",
       {"Sie haben ein Portal-Kennwort festgelegt. Sie können sich damit statt mit einem Code "
        "anmelden.",
        "You have set a portal password. You can sign in with it instead of a code."}},
      {"auth.portal_password_label", {"Portal-Kennwort", "Portal password"}},
      {"auth.portal_password_submit", {"Mit Kennwort anmelden", "Sign in with password"}},
      {"auth.or_code", {"Oder wie bisher:", "Or as before:"}},
      {"auth.no_portal_password",
       {"Für Ihre Adresse ist kein Portal-Kennwort festgelegt. Bitte melden Sie sich wie unten "
        "beschrieben an.",
        "No portal password is set for your address. Please sign in as described below."}},
      {"read.offer_password",
       {"Möchten Sie für künftige Nachrichten der Praxis ein Portal-Kennwort festlegen? Dann "
        "brauchen Sie dafür keinen Code mehr. Das ist freiwillig.",
        "Would you like to set a portal password for future messages from the practice? Then you "
        "will not need a code for them. This is optional."}},
      {"read.offer_password_link", {"Portal-Kennwort festlegen", "Set a portal password"}},
      {"password.title", {"Portal-Kennwort festlegen", "Set a portal password"}},
      {"password.intro",
       {"Mit diesem Kennwort öffnen Sie künftige Nachrichten an Ihre E-Mail-Adresse ohne Code. "
        "Mindestens 10 Zeichen. Ein früheres Portal-Kennwort wird ersetzt.",
        "With this password you open future messages to your email address without a code. At "
        "least 10 characters. It replaces any earlier portal password."}},
      {"password.new", {"Neues Portal-Kennwort", "New portal password"}},
      {"password.confirm", {"Kennwort wiederholen", "Repeat the password"}},
      {"password.save", {"Kennwort speichern", "Save password"}},
      {"password.skip", {"Überspringen", "Skip"}},
      {"password.mismatch",
       {"Die beiden Eingaben stimmen nicht überein.", "The two entries do not match."}},
      {"password.too_short",
       {"Das Kennwort muss 10 bis 1024 Zeichen lang sein.",
        "The password must be 10 to 1024 characters long."}},
      {"password.saved",
       {"Ihr Portal-Kennwort ist gespeichert.", "Your portal password has been saved."}},
      {"password.failed",
       {"Das Kennwort konnte gerade nicht gespeichert werden. Bitte versuchen Sie es später "
        "erneut.",
        "The password could not be saved right now. Please try again later."}},
      {"auth.code", {"Bestätigungscode", "Confirmation code"}},
      {"auth.passphrase_label", {"Kennwort", "Password"}},
      {"auth.submit", {"Bestätigen", "Confirm"}},
      {"auth.wrong", {"Das war nicht richtig.", "That was not correct."}},
      {"auth.left", {"Verbleibende Versuche:", "Attempts left:"}},
      {"auth.expired",
       {"Kein gültiger Code vorhanden. Bitte fordern Sie einen neuen Code an.",
        "There is no valid code. Please request a new one."}},
      {"auth.send_failed",
       {"Der Code konnte gerade nicht versandt werden. Bitte versuchen Sie es später erneut.",
        "The code could not be sent right now. Please try again later."}},
      {"read.title", {"Ihre Nachricht", "Your message"}},
      {"read.from", {"Von", "From"}},
      {"read.date", {"Datum", "Date"}},
      {"read.subject", {"Betreff", "Subject"}},
      {"read.attachments", {"Anhänge", "Attachments"}},
      {"read.download", {"Herunterladen", "Download"}},
      {"read.reply", {"Sicher antworten", "Reply securely"}},
      {"read.html_note",
       {"Die Nachricht wurde zu Ihrer Sicherheit vereinfacht dargestellt.",
        "For your safety the message is shown in simplified form."}},
      {"logout", {"Abmelden", "Sign out"}},
      {"reply.title", {"Sicher antworten", "Reply securely"}},
      {"reply.text", {"Ihre Antwort", "Your reply"}},
      {"reply.files", {"Dateien anhängen (optional)", "Attach files (optional)"}},
      {"reply.send", {"Antwort senden", "Send reply"}},
      {"reply.back", {"Zurück zur Nachricht", "Back to the message"}},
      {"reply.empty", {"Bitte schreiben Sie eine Antwort.", "Please write a reply."}},
      {"reply.too_large", {"Die Antwort ist zu groß.", "The reply is too large."}},
      {"reply.failed",
       {"Die Antwort konnte gerade nicht versandt werden. Bitte versuchen Sie es später erneut.",
        "The reply could not be sent right now. Please try again later."}},
      {"done.title", {"Antwort gesendet", "Reply sent"}},
      {"done.body",
       {"Ihre Antwort wurde verschlüsselt an die Praxis übermittelt.",
        "Your reply was delivered securely to the practice."}},
      {"invalid.title", {"Link ungültig", "Link not valid"}},
      {"invalid.body",
       {"Dieser Link ist nicht gültig. Bitte prüfen Sie, ob Sie ihn vollständig aus der E-Mail "
        "übernommen haben.",
        "This link is not valid. Please check that you copied it completely from the email."}},
      {"gone.title", {"Nachricht nicht mehr verfügbar", "Message no longer available"}},
      {"gone.body",
       {"Diese Nachricht ist abgelaufen oder wurde zurückgezogen und ist gelöscht. Bitte wenden "
        "Sie sich an die Praxis.",
        "This message has expired or was withdrawn and has been deleted. Please contact the "
        "practice."}},
      {"locked.title", {"Zugang gesperrt", "Access locked"}},
      {"locked.body",
       {"Nach zu vielen Fehlversuchen ist diese Nachricht gesperrt. Die Praxis wurde informiert; "
        "bitte rufen Sie dort an.",
        "After too many failed attempts this message is locked. The practice has been told; please "
        "call them."}},
      {"session.title", {"Sitzung abgelaufen", "Session expired"}},
      {"session.body",
       {"Bitte öffnen Sie den Link aus der E-Mail erneut.",
        "Please open the link from the email again."}},
      {"slow.title", {"Zu viele Versuche", "Too many attempts"}},
      {"slow.body",
       {"Bitte warten Sie eine Stunde und versuchen Sie es dann erneut.",
        "Please wait an hour and try again."}},
      {"error.title", {"Vorübergehender Fehler", "Temporary error"}},
      {"busy.title", {"Gerade viel Betrieb", "Busy right now"}},
      {"busy.body",
       {"Bitte versuchen Sie es in einer Minute erneut.", "Please try again in a minute."}},
      {"error.body", {"Bitte versuchen Sie es später erneut.", "Please try again later."}},
      {"notfound.title", {"Seite nicht gefunden", "Page not found"}},
      {"notfound.body", {"Diese Seite gibt es nicht.", "This page does not exist."}},
      {"bye.title", {"Abgemeldet", "Signed out"}},
      {"bye.body",
       {"Sie sind abgemeldet. Sie können das Fenster schließen.",
        "You are signed out. You can close this window."}},
  };
  return t;
}

std::string esc(std::string_view s) {
  return html_escape(s);
}

std::string layout(std::string_view lang, std::string_view title_key, const std::string& main,
                   const std::string& head_extra = {}) {
  std::string out;
  out +=
      "<!DOCTYPE html>\n<html lang=\"" + std::string(lang == "de" ? "de" : "en") + "\">\n<head>\n";
  out += "<meta charset=\"utf-8\">\n";
  out += head_extra;
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"referrer\" content=\"no-referrer\">\n";
  out += "<title>" + esc(text(lang, title_key)) + " – " + esc(text(lang, "site")) + "</title>\n";
  out += "<link rel=\"stylesheet\" href=\"/portal.css\">\n</head>\n<body>\n";
  out += "<header><p class=\"site\">" + esc(text(lang, "site")) + "</p></header>\n";
  out += "<main>\n<h1>" + esc(text(lang, title_key)) + "</h1>\n" + main +
         "</main>\n</body>\n</html>\n";
  return out;
}

std::string csrf_field(std::string_view csrf) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(csrf) + "\">";
}

std::string logout_form(std::string_view lang, std::string_view csrf) {
  return "<form method=\"post\" action=\"/logout\" class=\"logout\">" + csrf_field(csrf) +
         "<button type=\"submit\" class=\"secondary\">" + esc(text(lang, "logout")) +
         "</button></form>\n";
}

std::string human_size(std::size_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  if (n < std::size_t{1024} * 1024) return std::to_string((n + 1023) / 1024) + " KB";
  return std::to_string((n + (1 << 20) - 1) >> 20) + " MB";
}

}  // namespace

const std::string& text(std::string_view lang, std::string_view key) {
  static const std::string missing = "?";
  auto it = table().find(key);
  if (it == table().end()) return missing;
  return lang == "de" ? it->second.first : it->second.second;
}

std::string render_auth(std::string_view lang, const AuthPageModel& m) {
  std::string b;
  if (!m.error_key.empty()) {
    b += "<p class=\"error\" role=\"alert\">" + esc(text(lang, m.error_key));
    if (m.attempts_left >= 0)
      b += " " + esc(text(lang, "auth.left")) + " " + std::to_string(m.attempts_left);
    b += "</p>\n";
  }
  if (m.portal_password) {
    b += "<p>" + esc(text(lang, "auth.portal_password")) + "</p>\n";
    b += "<form method=\"post\" action=\"/auth/password\">" + csrf_field(m.csrf) +
         "<label for=\"portal_password\">" + esc(text(lang, "auth.portal_password_label")) +
         "</label>"
         "<input id=\"portal_password\" name=\"password\" type=\"password\" "
         "autocomplete=\"current-password\" required maxlength=\"1024\">"
         "<button type=\"submit\">" +
         esc(text(lang, "auth.portal_password_submit")) + "</button></form>\n";
    b += "<h2>" + esc(text(lang, "auth.or_code")) + "</h2>\n";
  }
  b += "<p>" + esc(text(lang, "auth." + m.method)) + "</p>\n";
  if (m.method == "passphrase") {
    b += "<form method=\"post\" action=\"/auth/verify\">" + csrf_field(m.csrf) +
         "<label for=\"secret\">" + esc(text(lang, "auth.passphrase_label")) +
         "</label>"
         "<input id=\"secret\" name=\"secret\" type=\"password\" autocomplete=\"current-password\" "
         "required maxlength=\"1024\">"
         "<button type=\"submit\">" +
         esc(text(lang, "auth.submit")) + "</button></form>\n";
    return layout(lang, "auth.title", b);
  }
  if (m.code_sent) {
    std::string sent = text(lang, "auth.sent");
    if (auto at = sent.find("{minutes}"); at != std::string::npos)
      sent.replace(at, 9, std::to_string(m.code_minutes));
    b += "<p class=\"ok\" role=\"status\">" + esc(sent) + "</p>\n";
  }
  b += "<form method=\"post\" action=\"/auth/send\">" + csrf_field(m.csrf) +
       "<button type=\"submit\" class=\"" + std::string(m.code_sent ? "secondary" : "") + "\">" +
       esc(text(lang, m.code_sent ? "auth.resend" : "auth.send")) + "</button></form>\n";
  b += "<form method=\"post\" action=\"/auth/verify\">" + csrf_field(m.csrf) +
       "<label for=\"code\">" + esc(text(lang, "auth.code")) +
       "</label>"
       "<input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" "
       "required maxlength=\"20\">"
       "<button type=\"submit\">" +
       esc(text(lang, "auth.submit")) + "</button></form>\n";
  return layout(lang, "auth.title", b);
}

std::string render_read(std::string_view lang, const MessageView& v, std::string_view csrf,
                        bool offer_password) {
  std::string b;
  b += "<dl class=\"meta\">";
  b += "<dt>" + esc(text(lang, "read.from")) + "</dt><dd>" + esc(v.from) + "</dd>";
  b += "<dt>" + esc(text(lang, "read.date")) + "</dt><dd>" + esc(v.date) + "</dd>";
  b += "<dt>" + esc(text(lang, "read.subject")) + "</dt><dd>" + esc(v.subject) + "</dd>";
  b += "</dl>\n";
  if (!v.text.empty()) {
    b += "<div class=\"body text\">" + esc(v.text) + "</div>\n";
  } else if (!v.safe_html.empty()) {
    b += "<p class=\"note\">" + esc(text(lang, "read.html_note")) + "</p>\n";
    b += "<div class=\"body html\">" + v.safe_html + "</div>\n";
  }
  if (!v.attachments.empty()) {
    b += "<h2>" + esc(text(lang, "read.attachments")) + "</h2>\n<ul class=\"attachments\">\n";
    for (std::size_t i = 0; i < v.attachments.size(); ++i) {
      const auto& a = v.attachments[i];
      b += "<li><a href=\"/att/" + std::to_string(i) + "\" download>" +
           esc(a.filename.empty() ? "attachment-" + std::to_string(i + 1) : a.filename) +
           "</a> <span class=\"size\">(" + human_size(a.data.size()) + ")</span></li>\n";
    }
    b += "</ul>\n";
  }
  b += "<p><a class=\"button\" href=\"/reply\">" + esc(text(lang, "read.reply")) + "</a></p>\n";
  if (offer_password)
    b += "<aside class=\"offer\"><p>" + esc(text(lang, "read.offer_password")) +
         "</p><p><a href=\"/password\">" + esc(text(lang, "read.offer_password_link")) +
         "</a></p></aside>\n";
  b += logout_form(lang, csrf);
  return layout(lang, "read.title", b);
}

std::string render_password(std::string_view lang, std::string_view csrf,
                            std::string_view error_key, bool saved) {
  std::string b;
  if (saved) {
    b += "<p class=\"ok\" role=\"status\">" + esc(text(lang, "password.saved")) + "</p>\n";
    b += "<p><a href=\"/read\">" + esc(text(lang, "reply.back")) + "</a></p>\n";
    return layout(lang, "password.title", b);
  }
  b += "<p>" + esc(text(lang, "password.intro")) + "</p>\n";
  if (!error_key.empty())
    b += "<p class=\"error\" role=\"alert\">" + esc(text(lang, error_key)) + "</p>\n";
  b += "<form method=\"post\" action=\"/password\">" + csrf_field(csrf) +
       "<label for=\"new_password\">" + esc(text(lang, "password.new")) +
       "</label>"
       "<input id=\"new_password\" name=\"password\" type=\"password\" "
       "autocomplete=\"new-password\" required minlength=\"10\" maxlength=\"1024\">"
       "<label for=\"confirm_password\">" +
       esc(text(lang, "password.confirm")) +
       "</label>"
       "<input id=\"confirm_password\" name=\"confirm\" type=\"password\" "
       "autocomplete=\"new-password\" required minlength=\"10\" maxlength=\"1024\">"
       "<button type=\"submit\">" +
       esc(text(lang, "password.save")) + "</button></form>\n";
  b += "<p><a href=\"/read\">" + esc(text(lang, "password.skip")) + "</a></p>\n";
  return layout(lang, "password.title", b);
}

std::string render_reply(std::string_view lang, std::string_view csrf, std::string_view error_key) {
  std::string b;
  if (!error_key.empty())
    b += "<p class=\"error\" role=\"alert\">" + esc(text(lang, error_key)) + "</p>\n";
  b += "<form method=\"post\" action=\"/reply\" enctype=\"multipart/form-data\">" +
       csrf_field(csrf) + "<label for=\"text\">" + esc(text(lang, "reply.text")) +
       "</label>"
       "<textarea id=\"text\" name=\"text\" rows=\"10\" required maxlength=\"100000\"></textarea>"
       "<label for=\"files\">" +
       esc(text(lang, "reply.files")) +
       "</label>"
       "<input id=\"files\" name=\"files\" type=\"file\" multiple>"
       "<button type=\"submit\">" +
       esc(text(lang, "reply.send")) + "</button></form>\n";
  b += "<p><a href=\"/read\">" + esc(text(lang, "reply.back")) + "</a></p>\n";
  return layout(lang, "reply.title", b);
}

std::string render_done(std::string_view lang) {
  std::string b = "<p class=\"ok\" role=\"status\">" + esc(text(lang, "done.body")) + "</p>\n";
  b += "<p><a href=\"/read\">" + esc(text(lang, "reply.back")) + "</a></p>\n";
  return layout(lang, "done.title", b);
}

std::string render_continue(std::string_view lang, std::string_view target) {
  const std::string t = esc(target);
  return layout(lang, "continue.title",
                "<p><a class=\"button\" href=\"" + t + "\">" + esc(text(lang, "continue.link")) +
                    "</a></p>\n",
                "<meta http-equiv=\"refresh\" content=\"0; url=" + t + "\">\n");
}

std::string render_notice(std::string_view lang, std::string_view title_key,
                          std::string_view body_key) {
  return layout(lang, title_key, "<p>" + esc(text(lang, body_key)) + "</p>\n");
}

const std::string& stylesheet() {
  static const std::string css = R"CSS(
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:100%;line-height:1.5;color:#1b1f24;background:#f4f6f8}
body{margin:0}
header{background:#24476b;color:#fff;padding:.75rem 1rem}
header .site{margin:0;font-weight:600}
main{max-width:44rem;margin:0 auto;padding:1rem;background:#fff;min-height:60vh}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.15rem;margin-top:1.5rem}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input,textarea{width:100%;font:inherit;padding:.6rem;border:1px solid #6b7785;border-radius:4px}
textarea{resize:vertical}
button,.button{display:inline-block;margin-top:1rem;padding:.65rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:#24476b;border:0;border-radius:4px;text-decoration:none;cursor:pointer;min-height:44px}
button.secondary{background:#e3e8ee;color:#1b1f24}
button:focus,a:focus,input:focus,textarea:focus{outline:3px solid #f2b632;outline-offset:2px}
.error{color:#8a1c1c;background:#fdecec;padding:.5rem .75rem;border-radius:4px}
.ok{color:#1d5b2a;background:#e8f5ea;padding:.5rem .75rem;border-radius:4px}
.note{color:#4a5562;font-size:.9rem}
.meta{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;margin:0 0 1rem}
.meta dt{font-weight:600}
.meta dd{margin:0;overflow-wrap:anywhere}
.body{border-top:1px solid #d5dbe1;padding-top:1rem;overflow-wrap:anywhere}
.body.text{white-space:pre-wrap}
.body table{border-collapse:collapse;max-width:100%}
.attachments{padding-left:1.2rem}
.attachments li{margin:.4rem 0;overflow-wrap:anywhere}
.size{color:#4a5562}
.logout{margin-top:2rem}
.offer{margin-top:1.5rem;padding:.75rem 1rem;background:#eef3f8;border-radius:4px}
)CSS";
  return css;
}

}  // namespace sealpost::portal
