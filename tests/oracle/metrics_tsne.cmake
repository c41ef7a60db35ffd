# metrics/tsne against scikit-learn 1.2 (Debian's /usr/bin/python3): affinities, final KL of each
# method, exact KL of the returned map, determinism across thread counts, degenerate inputs.
if(SP_WITH_TORCH)
    sp_add_gtest(test_tsne SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tsne.cpp LABELS oracle)
    target_link_libraries(test_tsne PRIVATE sp::nn)
endif()
