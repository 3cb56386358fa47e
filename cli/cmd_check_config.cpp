// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_check_config(const Context&) { return fail("'check-config' is not available in this build yet"); }
}  // namespace sealpost::cli
