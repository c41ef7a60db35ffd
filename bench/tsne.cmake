# t-SNE: sp's tsne() against scikit-learn's TSNE (bench/tsne_peer.py) on the same HDF5 input
# (/embeddings N x d float32, /labels N int64); see bench/tsne_notes.md.
if(SP_WITH_TORCH)
    add_executable(sp_bench_tsne ${CMAKE_CURRENT_LIST_DIR}/tsne_bench.cpp)
    target_link_libraries(sp_bench_tsne PRIVATE sp::nn CLI11::CLI11 sp::warnings)
endif()
