#include "relay/server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace sealpost::server {

namespace ssl = boost::asio::ssl;

namespace {

// Mozilla intermediate (TLS 1.2 part); TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

Error tls_error(const std::string& what, const std::string& path,
                const boost::system::error_code& ec) {
  return Error::plain("TLS " + what + " " + path + ": " + ec.message());
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_tls_context(const TlsFiles& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use | ssl::context::no_compression,
                   ec);
  if (ec) return tls_error("options", "", ec);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    return Error::plain("TLS: cannot set protocol version or ciphers");
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);

  ctx->use_certificate_chain_file(files.cert, ec);
  if (ec) return tls_error("certificate", files.cert, ec);
  ctx->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) return tls_error("key", files.key, ec);
  if (SSL_CTX_check_private_key(native) != 1)
    return Error::plain("TLS key " + files.key + " does not match certificate " + files.cert);
  ERR_clear_error();
  return ctx;
}

}  // namespace sealpost::server
