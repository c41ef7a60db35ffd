# metrics/cosine against NumPy and scikit-learn (Debian's /usr/bin/python3), plus determinism
# across chunk sizes and thread counts.
if(SP_WITH_TORCH)
    sp_add_gtest(test_cosine_oracle SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cosine.cpp
                 LABELS oracle)
    target_link_libraries(test_cosine_oracle PRIVATE sp::nn)
endif()
