// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_keys(const Context&) { return fail("'keys' is not available in this build yet"); }
}  // namespace sealpost::cli
