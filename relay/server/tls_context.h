// Server-side TLS settings for the SMTP listeners: TLS 1.2 and 1.3 only, the
// Mozilla "intermediate" cipher list, certificate chain and key from config.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "common/result.h"
#include "config/config.h"

namespace sealpost::server {

// Loads cert + key; the Error names the file that failed. Re-called on reload.
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(const TlsFiles& files);

}  // namespace sealpost::server
