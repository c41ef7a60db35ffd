# Training throughput: sp's train step and epoch against PyTorch eager (bench/train_peer.py) on
# the same model, optimizer, batch and threads; bench/train_bench.sh runs both, prints ratios.
if(SP_WITH_TORCH)
    add_executable(sp_bench_train ${CMAKE_CURRENT_LIST_DIR}/train_step.cpp)
    target_link_libraries(sp_bench_train PRIVATE sp::nn CLI11::CLI11 sp::warnings)
endif()
