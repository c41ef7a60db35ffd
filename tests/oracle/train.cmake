sp_add_gtest(test_schedule_oracle SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_schedule_oracle.cpp
             LABELS oracle)
