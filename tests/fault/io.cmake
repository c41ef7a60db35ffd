# io/: atomic files survive SIGKILL and a full disk.
sp_add_gtest(test_atomic_kill SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_atomic_kill.cpp LABELS fault)
