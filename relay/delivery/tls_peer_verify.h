// Verifies the smarthost's certificate chain with OpenSSL. libetpan is built
// against GnuTLS here and checks nothing itself, so after every handshake the
// transport takes the peer chain (DER, as libetpan hands it out) and calls this
// BEFORE it sends EHLO, AUTH or any mail: chain to a CA in ca_file (a PEM
// bundle or a directory of hashed PEMs) and the name (DNS name or IP literal)
// must match. The handshake itself proved the server holds the leaf's key.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace sealpost::delivery {

Result<void> verify_peer_chain(const std::vector<std::string>& der_chain,
                               const std::string& ca_file, const std::string& host);

}  // namespace sealpost::delivery
