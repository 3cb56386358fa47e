#include "relay/delivery/tls_handshake.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>

// Exported by libetpan but declared only when its headers are built with
// USE_SSL, which Debian's installed headers are not.
extern "C" mailstream_low_driver* mailstream_ssl_driver;

namespace sealpost::delivery {
namespace {

// Leading members of libetpan's private structures in its GnuTLS build
// (src/data-types/mailstream_ssl.c, unchanged since 2008 and fixed for the
// libetpan.so.20 ABI): the callback's context and the TLS driver's data both
// start with the fd and then the session. We read only these two members and
// cross-check them (below) so that a different layout fails closed.
struct EtpanSslContextHead {
  int fd;
  gnutls_session_t session;
};
struct EtpanSslDataHead {
  int fd;
  gnutls_session_t session;
};

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Error refused(std::string reason, const char* client_text = "TLS 1.2 or newer required") {
  // Temporary on purpose: an outdated server is fixed by its admin, and the
  // queue must keep the mail until then instead of bouncing it.
  return Error::make(454, "4.7.5", client_text, std::move(reason));
}

// The TLS 1.2 part of what our own listeners accept (relay/server/
// tls_context.cpp, Mozilla "intermediate"): an AEAD cipher and a forward-
// secret key exchange. Every TLS 1.3 suite has both.
bool aead(gnutls_cipher_algorithm_t c) {
  switch (c) {
    case GNUTLS_CIPHER_AES_128_GCM:
    case GNUTLS_CIPHER_AES_256_GCM:
    case GNUTLS_CIPHER_CHACHA20_POLY1305:
    case GNUTLS_CIPHER_AES_128_CCM:
    case GNUTLS_CIPHER_AES_256_CCM:
      return true;
    default:
      return false;
  }
}

bool forward_secret(gnutls_kx_algorithm_t kx) {
  return kx == GNUTLS_KX_ECDHE_RSA || kx == GNUTLS_KX_ECDHE_ECDSA || kx == GNUTLS_KX_DHE_RSA;
}

// libetpan lets GnuTLS accept finite-field DH groups down to 512 bits.
constexpr int kMinDhBits = 2048;

}  // namespace

void TlsHandshake::callback(struct mailstream_ssl_context* ssl, void* self) {
  auto* hs = static_cast<TlsHandshake*>(self);
  if (ssl == nullptr) return;  // libetpan out of memory: the check below refuses
  if (!is_ip_literal(hs->host_))
    mailstream_ssl_set_server_name(ssl, const_cast<char*>(hs->host_.c_str()));
  // An OpenSSL build of libetpan has a different layout; leave session_ unset
  // so that require_modern() refuses rather than misreading memory.
  if (mailstream_ssl_get_openssl_ssl_ctx(ssl) != nullptr) return;
  const auto* head = reinterpret_cast<const EtpanSslContextHead*>(ssl);
  if (head->fd != mailstream_ssl_get_fd(ssl)) return;
  hs->session_ = head->session;
}

Result<void> TlsHandshake::require_modern(mailstream_low* low) const {
  const std::string peer = " with " + host_;
  if (low == nullptr || low->driver != mailstream_ssl_driver || low->data == nullptr ||
      session_ == nullptr)
    return refused("cannot determine the negotiated TLS version" + peer);
  // The driver's session must be the one our callback saw: proves the layout.
  const auto* data = static_cast<const EtpanSslDataHead*>(low->data);
  if (data->session != static_cast<gnutls_session_t>(session_) ||
      data->fd != mailstream_low_get_fd(low))
    return refused("cannot determine the negotiated TLS version" + peer);

  const gnutls_protocol_t version = gnutls_protocol_get_version(data->session);
  if (version == GNUTLS_TLS1_3) return {};
  if (version != GNUTLS_TLS1_2) {
    const char* name = gnutls_protocol_get_name(version);
    return refused(std::string("server negotiated ") +
                   (name != nullptr ? name : "an unknown version") + peer +
                   "; TLS 1.2 or newer is required");
  }
  const gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(data->session);
  const gnutls_kx_algorithm_t kx = gnutls_kx_get(data->session);
  const bool weak_dh =
      kx == GNUTLS_KX_DHE_RSA && gnutls_dh_get_prime_bits(data->session) < kMinDhBits;
  if (aead(cipher) && forward_secret(kx) && !weak_dh) return {};
  const char* cipher_name = gnutls_cipher_get_name(cipher);
  const char* kx_name = gnutls_kx_get_name(kx);
  return refused(std::string("server negotiated TLS1.2 with ") +
                     (cipher_name != nullptr ? cipher_name : "an unknown cipher") + " and " +
                     (kx_name != nullptr ? kx_name : "an unknown") + " key exchange" +
                     (weak_dh ? " (DH group under 2048 bits)" : "") + peer +
                     "; an AEAD cipher (AES-GCM, ChaCha20-Poly1305) with ECDHE or DHE is required",
                 "Strong TLS cipher required");
}

}  // namespace sealpost::delivery
