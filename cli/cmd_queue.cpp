// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_queue(const Context&) { return fail("'queue' is not available in this build yet"); }
}  // namespace sealpost::cli
