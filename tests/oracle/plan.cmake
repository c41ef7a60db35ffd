# The plan against an independent Python implementation of the documented ID and seed rules.
add_test(NAME oracle_plan
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/plan_oracle.py
                 $<TARGET_FILE:sp_sweep> ${PROJECT_SOURCE_DIR})
set_tests_properties(oracle_plan PROPERTIES LABELS oracle TIMEOUT 300)
