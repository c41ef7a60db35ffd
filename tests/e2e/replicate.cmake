# A real replicate on a tiny synthetic dataset: training, checkpoint, resume, result file.
if(TARGET sp::nn)
    sp_add_gtest(test_replicate SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_replicate.cpp LABELS e2e
                 TIMEOUT 600)
    target_link_libraries(test_replicate PRIVATE sp::nn)
endif()
