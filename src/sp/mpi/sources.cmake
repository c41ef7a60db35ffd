target_sources(sp_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/comm.cpp
    ${CMAKE_CURRENT_LIST_DIR}/counter.cpp
    ${CMAKE_CURRENT_LIST_DIR}/environment.cpp
    ${CMAKE_CURRENT_LIST_DIR}/threads.cpp)
