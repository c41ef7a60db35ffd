# data/transforms against torchvision and torch.nn.functional.interpolate (Debian's python3).
sp_add_gtest(test_transforms_oracle SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_transforms_oracle.cpp
             LABELS oracle)
