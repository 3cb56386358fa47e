// The `[sms:+49 151 ...]` subject tag: staff give the patient's mobile number
// for an sms pickup right in the subject. The tag never leaves (it would put
// the number into the notice and the stored message), so it is taken out of
// the subject whether or not the number is valid.
#pragma once

#include <optional>
#include <string>

namespace sealpost::seal {

struct SmsTag {
  bool found = false;
  std::optional<std::string> number;  // "+4915112345678"; none when malformed
};

// Removes every `[sms:...]` tag (case-insensitive) from `subject`, with one
// space next to it; the number of the first valid one is returned.
SmsTag take_sms_tag(std::string& subject);

}  // namespace sealpost::seal
