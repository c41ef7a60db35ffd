# io/: the HDF5 layer, atomic files, the results schema and sp_validate.
sp_add_gtest(test_h5 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_h5.cpp LABELS unit)
