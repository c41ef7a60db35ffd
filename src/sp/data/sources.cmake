target_sources(sp_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/facts.cpp)
