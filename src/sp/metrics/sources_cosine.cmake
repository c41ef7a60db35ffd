# metrics/cosine: cosine-similarity histograms and statistics (LibTorch double mm, chunked).
if(SP_WITH_TORCH)
    target_sources(sp_nn PRIVATE ${CMAKE_CURRENT_LIST_DIR}/cosine.cpp)
endif()
