# The sweep under SIGUSR1 (requeue code, resume) and SIGKILL at random moments (resume), ending
# bit-identical to an uninterrupted run.
if(TARGET sp_sweep)
    add_test(NAME fault_sweep_signals
             COMMAND ${CMAKE_CURRENT_LIST_DIR}/sweep_signals.sh $<TARGET_FILE:sp_sweep>
                     $<TARGET_FILE:sp_validate> ${MPIEXEC_EXECUTABLE})
    set_tests_properties(fault_sweep_signals PROPERTIES LABELS "fault;e2e;mpi" TIMEOUT 900
                         ENVIRONMENT "${SP_TEST_ENV}" PROCESSORS 2)
endif()
