# metrics/clusters: silhouette (euclidean, cosine) and Davies-Bouldin against scikit-learn.
if(SP_WITH_TORCH)
    sp_add_gtest(test_clusters SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_clusters.cpp LABELS oracle)
    target_link_libraries(test_clusters PRIVATE sp::nn)
endif()
