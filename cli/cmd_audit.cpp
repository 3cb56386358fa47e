// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_audit(const Context&) { return fail("'audit' is not available in this build yet"); }
}  // namespace sealpost::cli
