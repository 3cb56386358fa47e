#include "seal/visible_recipients.h"

#include <algorithm>
#include <cctype>

namespace sealpost::seal {

namespace {

void collect(InternetAddressList* list, std::set<std::string>& out, int depth) {
  if (!list || depth > 2) return;  // RFC 5322 groups do not nest; belt and braces
  const int n = internet_address_list_length(list);
  for (int i = 0; i < n; ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
      if (!addr) continue;
      std::string s(addr);
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out.insert(std::move(s));
    } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
      collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out, depth + 1);
    }
  }
}

}  // namespace

std::set<std::string> visible_recipients(GMimeMessage* message) {
  std::set<std::string> out;
  collect(g_mime_message_get_to(message), out, 0);
  collect(g_mime_message_get_cc(message), out, 0);
  return out;
}

}  // namespace sealpost::seal
