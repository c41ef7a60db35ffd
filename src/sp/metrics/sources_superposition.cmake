# metrics/superposition: effective dimensionality, neural collapse NC1, unit selectivity and
# polysemanticity, Toy-Models feature dimensionality (LibTorch double GEMM tiles and LAPACK).
if(SP_WITH_TORCH)
    target_sources(sp_nn PRIVATE ${CMAKE_CURRENT_LIST_DIR}/superposition.cpp)
endif()
