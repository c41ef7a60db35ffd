if(SP_WITH_TORCH)
    target_sources(sp_nn PRIVATE
        ${CMAKE_CURRENT_LIST_DIR}/device.cpp
        ${CMAKE_CURRENT_LIST_DIR}/resnet.cpp
        ${CMAKE_CURRENT_LIST_DIR}/weights.cpp)
endif()
