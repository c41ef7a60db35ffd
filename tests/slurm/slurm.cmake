# slurm/sweep.sh and slurm/submit-array.sh on a real single-node Slurm cluster
# (scripts/slurm-local.sh, which installs slurm-wlm and munge and starts the daemons: root only).
# Skipped (77) where no cluster can be started. About 50 s on 2 cores; label `slurm`:
#   ctest --preset dev -L slurm        or exclude it: ctest --preset dev -LE slurm
if(TARGET sp_sweep AND TARGET sp_reduce)
    add_test(NAME slurm_sweep
             COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_slurm.sh $<TARGET_FILE:sp_sweep>
                     $<TARGET_FILE:sp_reduce>)
    set_tests_properties(slurm_sweep PROPERTIES LABELS "slurm" TIMEOUT 1800
                         SKIP_RETURN_CODE 77 ENVIRONMENT "${SP_TEST_ENV}" PROCESSORS 2
                         RUN_SERIAL TRUE)
endif()
