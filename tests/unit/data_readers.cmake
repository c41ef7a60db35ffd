# data/: the dataset readers (CIFAR-10, IDX with gzip, Tiny ImageNet with libturbojpeg). The tests
# write small files in the real formats and decode JPEGs independently with libturbojpeg itself.
sp_add_gtest(test_data_readers
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_data_readers.cpp
            ${CMAKE_CURRENT_LIST_DIR}/test_data_tiny_imagenet.cpp
            ${CMAKE_CURRENT_LIST_DIR}/test_data_fuzz_regressions.cpp
    LABELS unit)
find_package(ZLIB REQUIRED)
target_link_libraries(test_data_readers PRIVATE PkgConfig::TURBOJPEG ZLIB::ZLIB)

# Against PIL (Debian's /usr/bin/python3), which writes the JPEGs and decodes them for reference.
sp_add_gtest(test_data_readers_oracle
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_data_readers_oracle.cpp
    LABELS oracle)
