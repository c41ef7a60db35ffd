# metrics/: each part lists its files in its own sources_*.cmake beside this.
file(GLOB _sp_metrics_parts CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/sources_*.cmake")
list(SORT _sp_metrics_parts)
foreach(_part IN LISTS _sp_metrics_parts)
    include("${_part}")
endforeach()
