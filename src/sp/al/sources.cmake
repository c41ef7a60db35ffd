# al/strategies: active-learning query strategies (scores, top-k, core-set, BADGE, random) as pure
# functions over softmax probabilities and embeddings; at::parallel_for for the row loops.
if(SP_WITH_TORCH)
    target_sources(sp_nn PRIVATE ${CMAKE_CURRENT_LIST_DIR}/strategies.cpp)
endif()
