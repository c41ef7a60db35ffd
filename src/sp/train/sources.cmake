target_sources(sp_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/schedule.cpp
    ${CMAKE_CURRENT_LIST_DIR}/history.cpp)
file(GLOB _sp_train_parts CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/sources_*.cmake")
foreach(_part IN LISTS _sp_train_parts)
    include("${_part}")
endforeach()
