sp_add_gtest(test_util SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_util.cpp LABELS unit)
