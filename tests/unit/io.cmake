# io/: the HDF5 layer, atomic files, the results schema and sp_validate.
sp_add_gtest(test_h5 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_h5.cpp LABELS unit)
sp_add_gtest(test_h5_atomic SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_h5_atomic.cpp LABELS unit)
sp_add_gtest(test_schema SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_schema.cpp LABELS unit
             DEPENDS sp_validate)
