# data/: facts here; each part of the stage lists its files in its own sources_*.cmake beside this.
target_sources(sp_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/facts.cpp)
file(GLOB _sp_data_parts CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/sources_*.cmake")
list(SORT _sp_data_parts)
foreach(_part IN LISTS _sp_data_parts)
    include("${_part}")
endforeach()
