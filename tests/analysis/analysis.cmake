# analysis/sp_analysis: loaders on hand-written files (no sp binary), and the report end to end
# on a real tiny sweep, rendered in headless Chromium. Both skip (exit 77) without
# python3-matplotlib; the report test also without chromium (apt-get install chromium).
add_test(NAME analysis_loaders
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_loaders.py)
set_tests_properties(analysis_loaders PROPERTIES LABELS "analysis;unit" TIMEOUT 120
                     ENVIRONMENT "${SP_TEST_ENV}" SKIP_RETURN_CODE 77)

add_test(NAME analysis_report
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_report.sh $<TARGET_FILE:sp_sweep>)
set_tests_properties(analysis_report PROPERTIES LABELS "analysis;e2e" TIMEOUT 300
                     ENVIRONMENT "${SP_TEST_ENV}" SKIP_RETURN_CODE 77)
