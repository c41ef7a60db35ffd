# metrics/superposition against NumPy (Debian's /usr/bin/python3), degenerate inputs, and
# determinism across thread counts.
if(SP_WITH_TORCH)
    sp_add_gtest(test_superposition SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_superposition.cpp
                 LABELS oracle)
    target_link_libraries(test_superposition PRIVATE sp::nn)
endif()
