# metrics/clusters: silhouette and Davies-Bouldin (torch::mm for the distance blocks).
if(SP_WITH_TORCH)
    target_sources(sp_nn PRIVATE ${CMAKE_CURRENT_LIST_DIR}/clusters.cpp)
endif()
