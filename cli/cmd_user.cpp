// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_user(const Context&) { return fail("'user' is not available in this build yet"); }
}  // namespace sealpost::cli
