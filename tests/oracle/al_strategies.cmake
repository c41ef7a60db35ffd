# al/strategies against NumPy re-implementations (Debian's /usr/bin/python3): scores, top-k with
# the tie rule, brute-force k-center greedy, BADGE's k-means++ draw and the seeded shuffle, plus
# bit-identical results across thread counts.
if(SP_WITH_TORCH)
    sp_add_gtest(test_al_strategies SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_al_strategies.cpp
                 LABELS oracle)
    target_link_libraries(test_al_strategies PRIVATE sp::nn)
endif()
