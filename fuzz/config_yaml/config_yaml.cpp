// Fuzz target: parse_config() on arbitrary bytes must return a value or an
// Error naming the file, never crash, hang or throw.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto result = sealpost::parse_config(text, "fuzz.yaml", "/fuzz");
  // Every error must say where it came from; anything else is a loader bug.
  if (!result.ok() && result.error().what().rfind("fuzz.yaml", 0) != 0) std::abort();
  return 0;
}
