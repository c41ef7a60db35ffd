# Data pipeline: sp's transforms and batching against a torchvision DataLoader doing the same
# work (bench/data_peer.py); bench/data_bench.sh runs both and prints the ratios.
if(SP_WITH_TORCH)
    add_executable(sp_bench_data_pipeline ${CMAKE_CURRENT_LIST_DIR}/data_pipeline.cpp)
    target_link_libraries(sp_bench_data_pipeline PRIVATE sp::nn CLI11::CLI11 sp::warnings)
    # Real Fashion-MNIST when the IDX reader is part of sp::core, else a synthetic stand-in.
    get_target_property(_sp_core_sources sp_core SOURCES)
    if(_sp_core_sources MATCHES "data/idx\\.cpp")
        target_compile_definitions(sp_bench_data_pipeline PRIVATE SP_BENCH_HAVE_IDX=1)
    endif()
endif()
