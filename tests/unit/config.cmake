sp_add_gtest(test_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.cpp LABELS unit)
sp_add_gtest(test_enums SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_enums.cpp LABELS unit)
sp_add_gtest(test_plan SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_plan.cpp LABELS unit)
sp_add_gtest(test_config_errors SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config_errors.cpp
             LABELS fault DEPENDS sp_sweep)
