# metrics/analyze: every metric for one set of embeddings, and the /metrics group of a file.
if(SP_WITH_TORCH)
    target_sources(sp_nn PRIVATE ${CMAKE_CURRENT_LIST_DIR}/analyze.cpp)
endif()
