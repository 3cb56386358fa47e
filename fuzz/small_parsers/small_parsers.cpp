// Fuzz target: the small parsers that read untrusted bytes on the way through
// the relay, none big enough for a target of its own: attachment sniffing,
// the [sms:...] subject tag, the DSN header filter and client-address keys.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/sliding_window.h"
#include "relay/delivery/dsn.h"
#include "seal/scrub/content_sniff.h"
#include "seal/sms_subject_tag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealpost;
  const std::string in(reinterpret_cast<const char*>(data), size);
  (void)scrub::sniff_content(in);

  std::string subject = in;
  const auto tag = seal::take_sms_tag(subject);
  // The tag never survives and the subject only shrinks.
  if (subject.size() > in.size()) std::abort();
  if (tag.found && subject.find("[sms:") != std::string::npos) std::abort();

  const std::string headers = delivery::identifying_headers(in);
  if (headers.size() > in.size() + in.size() / 2 + 2) std::abort();  // at most CRLF per LF added
  for (const char* banned : {"\nSubject:", "\nReceived:", "\nBcc:"})
    if (("\n" + headers).find(banned) != std::string::npos) std::abort();

  (void)client_key(in.substr(0, 64));
  return 0;
}
