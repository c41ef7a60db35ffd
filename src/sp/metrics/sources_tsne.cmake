# metrics/tsne: t-SNE (exact, Barnes-Hut and FFT-interpolated repulsion) on exact kNN affinities.
if(SP_WITH_TORCH)
    target_sources(sp_nn PRIVATE ${CMAKE_CURRENT_LIST_DIR}/tsne.cpp
                                 ${CMAKE_CURRENT_LIST_DIR}/tsne_gradient.cpp
                                 ${CMAKE_CURRENT_LIST_DIR}/tsne_fft.cpp)
endif()
