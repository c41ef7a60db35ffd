# Metrics: sp's silhouettes, Davies-Bouldin, cosine statistics and superposition measures against
# scikit-learn and NumPy (bench/metrics_peer.py); bench/metrics_bench.sh runs both and prints the
# ratios, with t-SNE (bench/tsne.cmake) in the same command.
if(SP_WITH_TORCH)
    add_executable(sp_bench_metrics ${CMAKE_CURRENT_LIST_DIR}/metrics_bench.cpp)
    target_link_libraries(sp_bench_metrics PRIVATE sp::nn CLI11::CLI11 sp::warnings)
endif()
