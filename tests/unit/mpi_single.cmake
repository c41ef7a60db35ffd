sp_add_gtest(test_mpi_single SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mpi_single.cpp LABELS unit)
