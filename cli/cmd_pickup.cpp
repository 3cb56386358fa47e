// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_pickup(const Context&) { return fail("'pickup' is not available in this build yet"); }
}  // namespace sealpost::cli
