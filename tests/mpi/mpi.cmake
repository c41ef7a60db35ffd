# mpi/ under mpiexec -n 2. mpi_test_main.cpp brings its own main() (MPI up before gtest, outcome
# reduced over ranks); it takes precedence over GTest::gtest_main's.
sp_add_gtest(test_mpi
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/mpi_test_main.cpp ${CMAKE_CURRENT_LIST_DIR}/test_mpi.cpp
    LABELS mpi MPI_RANKS 2)

# The harness itself. A failure on rank 1 alone must fail the run and be named in rank 0's report;
# Comm::abort(7) on one rank must end the whole job with status 7.
set(_sp_mpi_run ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 ${MPIEXEC_PREFLAGS}
    $<TARGET_FILE:test_mpi> ${MPIEXEC_POSTFLAGS} --gtest_also_run_disabled_tests)
add_test(NAME test_mpi_harness_reduces_failures
         COMMAND sh -c [=[out=$("$@" 2>&1); rc=$?; printf '%s\n' "$out"; echo "exit status $rc";
                          [ $rc -ne 0 ] && printf '%s' "$out" | grep -q 'failed on rank(s) 1' &&
                          printf '%s' "$out" | grep -q '^\[rank 1\] MpiHarness']=]
                 sh ${_sp_mpi_run} --gtest_filter=MpiHarness.DISABLED_FailsOnRank1Only)
add_test(NAME test_mpi_harness_abort
         COMMAND sh -c [=["$@"; rc=$?; echo "exit status $rc"; [ $rc -eq 7 ]]=]
                 sh ${_sp_mpi_run} --gtest_filter=MpiHarness.DISABLED_AbortEndsTheJobWithItsCode)
set_tests_properties(test_mpi_harness_reduces_failures test_mpi_harness_abort PROPERTIES
                     LABELS mpi TIMEOUT 120 ENVIRONMENT "${SP_TEST_ENV}" PROCESSORS 2)
