add_test(NAME e2e_sweep_mpi
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/sweep_mpi.sh $<TARGET_FILE:sp_sweep>
                 $<TARGET_FILE:sp_validate> ${MPIEXEC_EXECUTABLE})
set_tests_properties(e2e_sweep_mpi PROPERTIES LABELS "e2e;mpi" TIMEOUT 600
                     ENVIRONMENT "${SP_TEST_ENV}" PROCESSORS 2)

add_test(NAME e2e_analyze
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/analyze.sh $<TARGET_FILE:sp_analyze>)
set_tests_properties(e2e_analyze PROPERTIES LABELS "e2e;oracle" TIMEOUT 300
                     ENVIRONMENT "${SP_TEST_ENV}")

add_test(NAME e2e_reduce
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/reduce.sh $<TARGET_FILE:sp_sweep>
                 $<TARGET_FILE:sp_reduce> $<TARGET_FILE:sp_validate> ${MPIEXEC_EXECUTABLE})
set_tests_properties(e2e_reduce PROPERTIES LABELS "e2e;mpi;oracle" TIMEOUT 600
                     ENVIRONMENT "${SP_TEST_ENV}" PROCESSORS 2)

add_test(NAME e2e_failure
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/failure.sh $<TARGET_FILE:sp_sweep>
                 $<TARGET_FILE:sp_validate>)
set_tests_properties(e2e_failure PROPERTIES LABELS "e2e" TIMEOUT 300 ENVIRONMENT "${SP_TEST_ENV}")

# The embedded default sweep end to end (minutes on 2 cores).
add_test(NAME e2e_quick
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/quick.sh $<TARGET_FILE:sp_sweep>
                 $<TARGET_FILE:sp_validate>)
set_tests_properties(e2e_quick PROPERTIES LABELS "e2e;slow" TIMEOUT 1800 RUN_SERIAL TRUE
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${SP_TEST_ENV}")
