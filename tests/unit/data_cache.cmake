# data/: the synthetic dataset, subsets, the decoded-dataset cache, loading by config, sp_prepare.
sp_add_gtest(test_subset SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_subset.cpp LABELS unit)
sp_add_gtest(test_synthetic SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_synthetic.cpp LABELS unit)

# One executable, two label sets: the round trip of the real Fashion-MNIST (60,000 images through
# sp_prepare, sp_validate and load_dataset) takes seconds, so it is "slow"; the rest is "unit".
# sp_add_gtest labels a whole executable, hence gtest_discover_tests with filters here.
add_executable(test_data_cache ${CMAKE_CURRENT_LIST_DIR}/test_data_cache.cpp)
target_link_libraries(test_data_cache PRIVATE sp_test_support GTest::gtest_main sp::warnings)
add_dependencies(test_data_cache sp_prepare sp_validate)
gtest_discover_tests(test_data_cache TEST_FILTER "-*FashionMnist*"
                     PROPERTIES LABELS unit TIMEOUT 300 ENVIRONMENT "${SP_TEST_ENV}"
                     DISCOVERY_TIMEOUT 60)
gtest_discover_tests(test_data_cache TEST_FILTER "*FashionMnist*"
                     PROPERTIES LABELS slow TIMEOUT 300 ENVIRONMENT "${SP_TEST_ENV}"
                     DISCOVERY_TIMEOUT 60)
