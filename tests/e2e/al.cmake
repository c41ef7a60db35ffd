# Active-learning replicates on a tiny synthetic dataset: picks against tests/e2e/al_oracle.py,
# schedules, and stop/resume equality.
if(TARGET sp::nn)
    sp_add_gtest(test_al SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_al.cpp LABELS e2e TIMEOUT 900)
    target_link_libraries(test_al PRIVATE sp::nn)
endif()
