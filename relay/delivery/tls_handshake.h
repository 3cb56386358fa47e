// Client-side TLS through libetpan (smarthost SMTP and IMAP accounts): the
// per-handshake callback (SNI) and the protocol-version floor, TLS 1.2.
//
// Why a check after the handshake instead of a setting before it: libetpan's
// GnuTLS build (Debian 12) calls gnutls_priority_set_direct(session, "NORMAL")
// AFTER our callback has run, which overwrites any priority string or minimum
// version we could set there, and "NORMAL" still allows TLS 1.0 and 1.1.
// libetpan has no API for either. So the negotiated version is read right
// after the handshake, before a single SMTP/IMAP byte goes over the session
// (not even the greeting is read), and an old session is closed unused.
//
// Usage:
//   TlsHandshake hs(host);
//   low = mailstream_low_tls_open_with_callback_timeout(fd, t, TlsHandshake::callback, &hs);
//   if (auto v = hs.require_modern(low); !v) ...  // close, temporary failure
#pragma once

#include <libetpan/libetpan.h>

#include <string>

#include "common/result.h"

namespace sealpost::delivery {

class TlsHandshake {
 public:
  explicit TlsHandshake(std::string host) : host_(std::move(host)) {}
  TlsHandshake(const TlsHandshake&) = delete;
  TlsHandshake& operator=(const TlsHandshake&) = delete;

  // For libetpan's *_open_with_callback* functions, with `this` as data:
  // sets SNI for DNS names and remembers the TLS session for the check below.
  static void callback(struct mailstream_ssl_context* ssl, void* self);

  // After a successful handshake on `low`: OK for TLS 1.2 or 1.3. Otherwise
  // (older version, or the version cannot be determined) a temporary 454
  // 4.7.5 error whose reason names the negotiated version.
  Result<void> require_modern(mailstream_low* low) const;

 private:
  std::string host_;
  void* session_ = nullptr;  // gnutls_session_t, owned by libetpan
};

}  // namespace sealpost::delivery
