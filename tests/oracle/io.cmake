# io/: HDF5 files and the results schema against h5py and Python's tomllib.
sp_add_gtest(test_h5_oracle SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_h5_oracle.cpp LABELS oracle
             DEPENDS sp_validate)
