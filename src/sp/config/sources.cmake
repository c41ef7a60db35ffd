# The embedded default sweep: sweeps/quick.toml compiled in, so `sp_sweep` with no file runs it.
set(_sp_quick "${PROJECT_SOURCE_DIR}/sweeps/quick.toml")
file(READ "${_sp_quick}" SP_QUICK_TOML)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_sp_quick}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/embedded_quick.cpp.in
               "${CMAKE_CURRENT_BINARY_DIR}/generated/sp/config/embedded_quick.cpp" @ONLY)

target_sources(sp_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/value.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fields.cpp
    ${CMAKE_CURRENT_LIST_DIR}/sweep_parse.cpp
    ${CMAKE_CURRENT_LIST_DIR}/overrides.cpp
    "${CMAKE_CURRENT_BINARY_DIR}/generated/sp/config/embedded_quick.cpp")
