# data/ readers: CIFAR-10 binary, IDX (MNIST, Fashion-MNIST; gzip via zlib), Tiny ImageNet (JPEG
# via libturbojpeg). The TurboJPEG target is GLOBAL so tests can decode independently with it.
target_sources(sp_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/cifar10.cpp
    ${CMAKE_CURRENT_LIST_DIR}/idx.cpp
    ${CMAKE_CURRENT_LIST_DIR}/jpeg.cpp
    ${CMAKE_CURRENT_LIST_DIR}/source_files.cpp
    ${CMAKE_CURRENT_LIST_DIR}/tiny_imagenet.cpp)
find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::TURBOJPEG)
    pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET GLOBAL libturbojpeg)
endif()
find_package(ZLIB REQUIRED)
target_link_libraries(sp_core PRIVATE PkgConfig::TURBOJPEG ZLIB::ZLIB)
