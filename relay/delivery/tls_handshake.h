// Client-side TLS through libetpan (smarthost SMTP and IMAP accounts): the
// per-handshake callback (SNI) and the floor for what was negotiated: TLS 1.3,
// or TLS 1.2 with an AEAD cipher (AES-GCM/CCM, ChaCha20-Poly1305) and an
// ECDHE or DHE (>= 2048 bit) key exchange: what our own listeners accept.
//
// Why a check after the handshake instead of a setting before it: libetpan's
// GnuTLS build (Debian 12, libetpan 1.9.4, src/data-types/mailstream_ssl.c
// ssl_data_new()) runs our callback right after gnutls_init() and only then
// calls gnutls_set_default_priority() and gnutls_priority_set_direct(session,
// "NORMAL"), which overwrite any priority string, version floor or cipher list
// we set in the callback; it also lowers the accepted DH group size to 512
// bits (gnutls_dh_set_prime_bits). The callback's context offers only SNI and
// client certificates for GnuTLS (mailstream_ssl_set_client_certificate_data,
// mailstream_ssl_set_server_name); there is no hook between the priority call
// and gnutls_handshake(). "NORMAL" still offers TLS 1.0/1.1, CBC and RSA key
// exchange. So the negotiated version, cipher and key exchange are read right
// after the handshake, before a single SMTP/IMAP byte goes over the session
// (not even the greeting is read), and a session below the floor is closed
// unused: the mail is deferred (454 4.7.5) and the reason names what the
// server chose. What this cannot do is stop a weak ClientHello being sent.
// The peer's certificate chain is verified separately (tls_peer_verify.h).
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

  // After a successful handshake on `low`: OK for TLS 1.3 and for TLS 1.2 with
  // an AEAD cipher and forward secrecy. Otherwise (older version, weak cipher
  // or key exchange, or the session cannot be inspected) a temporary 454
  // 4.7.5 error whose reason names what was negotiated.
  Result<void> require_modern(mailstream_low* low) const;

 private:
  std::string host_;
  void* session_ = nullptr;  // gnutls_session_t, owned by libetpan
};

}  // namespace sealpost::delivery
