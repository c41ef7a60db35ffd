# Warnings as an INTERFACE target (after HighFive's cmake/HighFiveWarnings.cmake).
add_library(sp_warnings INTERFACE)
add_library(sp::warnings ALIAS sp_warnings)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(sp_warnings INTERFACE
        -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
        -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wformat=2)
    if(SP_WERROR)
        target_compile_options(sp_warnings INTERFACE -Werror)
    endif()
endif()
