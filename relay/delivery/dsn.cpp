#include "relay/delivery/dsn.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/secure_random.h"

namespace sealpost::delivery {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Text that goes into a header or a status field: one line, no control
// characters (a remote reply must not be able to inject headers), bounded.
std::string one_line(std::string_view s, std::size_t max = 900) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

std::string rfc5322_date(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  if (std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0) return {};
  return buf;
}

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Quoted-printable for the human-readable part so that umlauts travel as 7bit.
std::string quoted_printable(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      line = 0;
      continue;
    }
    std::string piece;
    if ((c >= 33 && c <= 126 && c != '=') ||
        (c == ' ' && i + 1 < text.size() && text[i + 1] != '\n')) {
      piece.push_back(static_cast<char>(c));
    } else {
      piece = {'=', hex[c >> 4], hex[c & 15]};
    }
    if (line + piece.size() > 75) {
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  }
  return out;
}

}  // namespace

bool wants_failure_dsn(const SpoolEnvelope& original, const SpoolRecipient& rcpt) {
  if (original.mail_from.empty() || original.kind == "dsn") return false;
  if (rcpt.notify.empty()) return true;
  const std::string n = upper(rcpt.notify);
  if (n.find("NEVER") != std::string::npos) return false;
  return n.find("FAILURE") != std::string::npos;
}

std::string_view header_block(std::string_view message, std::size_t max_bytes) {
  std::size_t end = message.find("\r\n\r\n");
  if (end != std::string_view::npos) {
    end += 2;
  } else if ((end = message.find("\n\n")) != std::string_view::npos) {
    end += 1;
  } else {
    end = message.size();
  }
  if (end > max_bytes) {
    const std::size_t cut = message.rfind('\n', max_bytes);
    end = cut == std::string_view::npos ? 0 : cut + 1;
  }
  return message.substr(0, end);
}

std::string identifying_headers(std::string_view headers) {
  static constexpr std::string_view kKeep[] = {"date", "from",       "sender",      "to",
                                               "cc",   "message-id", "in-reply-to", "references"};
  std::string out;
  bool keeping = false;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t nl = headers.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? headers.size() : nl + 1;
    std::string_view line = headers.substr(pos, end - pos);
    pos = end;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) break;
    if (line.front() != ' ' && line.front() != '\t') {  // a new field; else a fold
      const std::string name = upper(std::string(line.substr(0, line.find(':'))));
      keeping = false;
      for (auto k : kKeep)
        if (upper(std::string(k)) == name) keeping = true;
    }
    if (keeping) out.append(line).append("\r\n");
  }
  return out;
}

std::optional<std::string> compose_failure_dsn(const SpoolEnvelope& original,
                                               const std::vector<FailedRecipient>& failed,
                                               std::string_view original_data,
                                               const DsnContext& ctx) {
  std::vector<const FailedRecipient*> reported;
  for (const auto& f : failed)
    if (wants_failure_dsn(original, f.rcpt)) reported.push_back(&f);
  if (reported.empty()) return std::nullopt;

  const std::string headers = identifying_headers(header_block(original_data));
  bool international = original.smtputf8 || has_8bit(original.mail_from);
  for (const auto* f : reported) international = international || has_8bit(f->rcpt.address);
  const std::string boundary = "=_sealpost_dsn_" + random_token(12);
  const std::string date = rfc5322_date(ctx.now);
  const std::string mta = one_line(ctx.reporting_mta, 255);

  std::string human = "Dies ist eine automatische Nachricht von " + mta +
                      ".\n\n"
                      "Ihre Nachricht konnte an folgende Empfänger nicht zugestellt werden:\n"
                      "Your message could not be delivered to the following recipients:\n\n";
  for (const auto* f : reported)
    human += "  <" + one_line(f->rcpt.address, 320) + ">: " + one_line(f->diagnostic, 300) + "\n";
  human +=
      "\nAus Datenschutzgründen sind nur Datum, Absender, Empfänger und Message-ID Ihrer "
      "Nachricht beigefügt, weder Betreff noch Inhalt.\n"
      "For privacy reasons only the date, sender, recipients and Message-ID of your message "
      "are attached, neither its subject nor its content.\n";

  std::string out;
  out.reserve(2048 + headers.size());
  out += "From: Mail Delivery System <MAILER-DAEMON@" + mta + ">\r\n";
  out += "To: <" + one_line(original.mail_from, 320) + ">\r\n";
  out += "Subject: Unzustellbar / Undelivered Mail Returned to Sender\r\n";
  out += "Date: " + date + "\r\n";
  out += "Message-ID: <" + random_token(12) + ".dsn@" + mta + ">\r\n";
  out += "Auto-Submitted: auto-replied\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/report; report-type=delivery-status;\r\n boundary=\"" + boundary +
         "\"\r\n\r\n";
  out += "This is a MIME-encapsulated delivery status notification.\r\n\r\n";

  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += quoted_printable(human);
  out += "\r\n--" + boundary + "\r\n";

  // RFC 6533: addresses with UTF-8 need the "global" variants of the parts.
  out += international ? "Content-Type: message/global-delivery-status\r\n\r\n"
                       : "Content-Type: message/delivery-status\r\n\r\n";
  out += "Reporting-MTA: dns; " + mta + "\r\n";
  if (!original.envid.empty())
    out += "Original-Envelope-Id: " + one_line(original.envid, 100) + "\r\n";
  if (original.arrival > 0) out += "Arrival-Date: " + rfc5322_date(original.arrival) + "\r\n";
  for (const auto* f : reported) {
    out += "\r\nFinal-Recipient: rfc822; " + one_line(f->rcpt.address, 320) + "\r\n";
    if (!f->rcpt.orcpt.empty())
      out += "Original-Recipient: " + one_line(f->rcpt.orcpt, 500) + "\r\n";
    out += "Action: failed\r\n";
    out += "Status: " + one_line(f->status.empty() ? "5.0.0" : f->status, 16) + "\r\n";
    if (f->remote && !ctx.remote_mta.empty())
      out += "Remote-MTA: dns; " + one_line(ctx.remote_mta, 255) + "\r\n";
    out += std::string("Diagnostic-Code: ") + (f->remote ? "smtp; " : "x-local; ") +
           one_line(f->diagnostic) + "\r\n";
    out += "Last-Attempt-Date: " + date + "\r\n";
  }
  out += "\r\n--" + boundary + "\r\n";
  out += international ? "Content-Type: message/global-headers\r\n\r\n"
                       : "Content-Type: text/rfc822-headers\r\n\r\n";
  out.append(headers);
  if (!headers.empty() && headers.back() != '\n') out += "\r\n";
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

}  // namespace sealpost::delivery
