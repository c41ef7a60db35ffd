# stats/ against SciPy 1.10 and NumPy (Debian's /usr/bin/python3): summaries, t intervals, the
# SplitMix64 bootstrap, ttest_rel, wilcoxon, effect sizes and Holm, on 200 generated cases.
sp_add_gtest(test_stats SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_stats.cpp LABELS oracle)
target_link_libraries(test_stats PRIVATE sp::core)
