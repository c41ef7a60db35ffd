# data/: transforms (no LibTorch) and batching into tensors (sp::nn).
sp_add_gtest(test_transforms SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_transforms.cpp LABELS unit)
if(SP_WITH_TORCH)
    sp_add_gtest(test_batches SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_batches.cpp LABELS unit)
    target_link_libraries(test_batches PRIVATE sp::nn)
endif()
