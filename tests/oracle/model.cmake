# model/: ResNet18 against torchvision (Debian's /usr/bin/python3): names, initialisation,
# forward in eval and train mode, weight files both ways, scripts/convert_weights.py.
if(SP_WITH_TORCH)
    sp_add_gtest(test_resnet_parity SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_resnet_parity.cpp
                 LABELS oracle)
    target_link_libraries(test_resnet_parity PRIVATE sp::nn)
endif()
