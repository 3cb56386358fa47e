// OpenSSL BIOs over the relay's byte containers, so CMS streams a big message
// from the spill file it is in to the spill file it goes to without holding
// either: a read BIO over a Body, and a write BIO that base64-encodes into a
// BodyWriter (76-character lines, CRLF), remembering the first write error.
#pragma once

#include <optional>

#include "common/body.h"
#include "keystore/openssl_ptr.h"
#include "seal/crlf.h"

namespace sealpost::seal {

// Reads `body` from its start; `body` must outlive this object. OpenSSL takes
// a failed read for the end of the data, so callers must ask error() after.
class BodySourceBio {
 public:
  explicit BodySourceBio(const Body& body);
  BIO* bio() const { return bio_.get(); }
  const std::optional<Error>& error() const { return error_; }

  // For the BIO callbacks.
  bool read(char* buf, std::size_t len, std::size_t* got);

 private:
  const Body& body_;
  std::uint64_t pos_ = 0;
  std::optional<Error> error_;
  ossl::BioPtr bio_;
};

class Base64Sink {
 public:
  explicit Base64Sink(BodyWriter& out);
  // The BIO to hand to OpenSSL; owned by this object.
  BIO* bio() const { return bio_.get(); }
  // Writes the last base64 group and line end; the first error, if any.
  Result<void> finish();

  // For the BIO callbacks.
  bool write(std::string_view bytes);

 private:
  BodyWriter& out_;
  Base64Lines enc_;
  std::string buf_;
  std::optional<Error> error_;
  ossl::BioPtr bio_;
};

}  // namespace sealpost::seal
