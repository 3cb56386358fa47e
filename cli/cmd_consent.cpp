// Placeholder: replaced when the owning module lands.
#include "cli/commands.h"

namespace sealpost::cli {
int cmd_consent(const Context&) { return fail("'consent' is not available in this build yet"); }
}  // namespace sealpost::cli
