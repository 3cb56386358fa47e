// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_imap(const Context&) {
  return fail("'imap' is not available in this build yet");
}
}  // namespace sealpost::cli
