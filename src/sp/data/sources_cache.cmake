# data/: the synthetic dataset, subsets, the decoded-dataset cache and loading by configuration.
target_sources(sp_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/synthetic.cpp
    ${CMAKE_CURRENT_LIST_DIR}/subset.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cache.cpp
    ${CMAKE_CURRENT_LIST_DIR}/load.cpp)
