# model/: ResNet18's module tree, shapes, dropout, seeded init and weight files.
if(SP_WITH_TORCH)
    sp_add_gtest(test_resnet SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_resnet.cpp LABELS unit)
    target_link_libraries(test_resnet PRIVATE sp::nn)
endif()
