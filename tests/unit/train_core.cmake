# train/ and sweep/ parts that need no LibTorch.
sp_add_gtest(test_schedule SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_schedule.cpp LABELS unit)
sp_add_gtest(test_result_file SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_result_file.cpp LABELS unit)
