# data/: transforms (raw float kernels, no LibTorch) in sp::core; batching into tensors in sp::nn.
target_sources(sp_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/transforms.cpp)
if(SP_WITH_TORCH)
    target_sources(sp_nn PRIVATE ${CMAKE_CURRENT_LIST_DIR}/batches.cpp)
endif()
