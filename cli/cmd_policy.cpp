// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_policy(const Context&) { return fail("'policy' is not available in this build yet"); }
}  // namespace sealpost::cli
