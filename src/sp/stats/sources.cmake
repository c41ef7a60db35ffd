# stats/: summaries, paired tests and Holm's correction for the reduce stage (torch-free).
# Boost.Math is header-only; Debian 12's Boost 1.74 config provides Boost::headers.
find_package(Boost 1.74 REQUIRED CONFIG)
target_sources(sp_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/stats.cpp)
target_link_libraries(sp_core PRIVATE Boost::headers)
target_sources(sp_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/reduce.cpp)
