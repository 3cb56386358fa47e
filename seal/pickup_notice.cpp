#include "seal/pickup_notice.h"

#include <ctime>

#include "common/secure_random.h"

namespace sealpost::seal {

namespace {

std::string rfc5322_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string day(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// Header values we put together must not carry line breaks from outside.
std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

}  // namespace

std::string compose_pickup_notice(const PickupNoticeInput& in) {
  const std::time_t now = std::time(nullptr);
  const std::string host = in.hostname.empty() ? "sealpost.invalid" : one_line(in.hostname);
  std::string m;
  m += "From: " + one_line(in.from_header) + "\r\n";
  m += "To: <" + one_line(in.recipient) + ">\r\n";
  m += "Subject: Sichere Nachricht / Secure message\r\n";
  m += "Date: " + rfc5322_date(now) + "\r\n";
  m += "Message-ID: <" + random_token(16) + "@" + host + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n\r\n";
  m += "Sie haben eine vertrauliche Nachricht erhalten.\r\n";
  m += "Bitte rufen Sie sie über diesen Link ab:\r\n\r\n";
  m += one_line(in.url) + "\r\n\r\n";
  if (in.expires_at > 0) m += "Der Link ist gültig bis " + day(in.expires_at) + ".\r\n\r\n";
  m += "You have received a confidential message. Please collect it here:\r\n\r\n";
  m += one_line(in.url) + "\r\n";
  if (in.expires_at > 0) m += "\r\nThe link is valid until " + day(in.expires_at) + ".\r\n";
  return m;
}

}  // namespace sealpost::seal
