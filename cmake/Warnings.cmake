# Warnings for our own targets only (third-party headers come in as SYSTEM).
function(sealpost_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
                                           -Wformat=2 -Wimplicit-fallthrough)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
