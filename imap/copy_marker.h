// Tells Sealpost's own readable copies apart from mail that merely claims to
// be one. Anybody can send "X-Sealpost-Signature: valid key ..."; so every copy
// Sealpost APPENDs carries X-Sealpost-Copy, an HMAC (key under
// <state_dir>/private, never leaves the host) over its From, To, Cc, Subject,
// Date, Message-ID, Content-* and X-Sealpost-* fields and a SHA-256 of its
// body: a copy whose body or addressing was swapped is no longer ours. A
// message with a valid mark is left alone; any other message with
// X-Sealpost-* fields has them removed.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "imap/header_fields.h"

namespace sealpost::imap {

class CopyMarker {
 public:
  // Reads the key, creating it (32 random bytes, 0600) on first use.
  static Result<CopyMarker> open(const std::string& key_path);
  explicit CopyMarker(std::string key) : key_(std::move(key)) {}

  // `message` with an X-Sealpost-Copy field in front (any old one removed)
  // and, when `origin` is not empty, an X-Sealpost-Origin field naming the
  // original it was made from (any old one removed), covered by the mark.
  std::string stamp(const std::string& message, const std::string& origin = {}) const;
  // True when `e` carries exactly one X-Sealpost-Copy that matches its
  // covered fields and body.
  bool is_ours(const SplitEntity& e) const;

 private:
  std::string mac(const std::vector<HeaderField>& fields, const std::string& body) const;
  std::string key_;
};

// True when any field is named X-Sealpost-* (case-insensitive).
bool has_status_fields(const std::vector<HeaderField>& fields);

// The message rebuilt from `e` without any X-Sealpost-* field (body and other
// fields byte for byte), with a note saying so.
std::string without_status_fields(const SplitEntity& e);

}  // namespace sealpost::imap
