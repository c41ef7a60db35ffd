# Fuzzing the dataset readers with libFuzzer (clang only): tests/fault/fuzz.sh configures a clang
# build with -DSP_FUZZ=ON, builds fuzz_readers and runs it. Crashes become unit regression tests.
option(SP_FUZZ "Build the libFuzzer targets (needs clang; see tests/fault/fuzz.sh)" OFF)
if(SP_FUZZ AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # The readers are compiled into the fuzzer itself, not linked from sp_core, so that the
    # coverage instrumentation that guides libFuzzer and the sanitizers cover them.
    set(_sp_src "${PROJECT_SOURCE_DIR}/src")
    add_executable(fuzz_readers
        ${CMAKE_CURRENT_LIST_DIR}/fuzz_readers.cpp
        ${_sp_src}/sp/data/cifar10.cpp
        ${_sp_src}/sp/data/idx.cpp
        ${_sp_src}/sp/data/jpeg.cpp
        ${_sp_src}/sp/data/source_files.cpp
        ${_sp_src}/sp/util/error.cpp
        ${_sp_src}/sp/util/hash.cpp)
    target_include_directories(fuzz_readers PRIVATE ${_sp_src})
    target_compile_features(fuzz_readers PRIVATE cxx_std_17)
    set(_sp_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
    target_compile_options(fuzz_readers PRIVATE ${_sp_fuzz_flags} -fno-omit-frame-pointer)
    target_link_options(fuzz_readers PRIVATE ${_sp_fuzz_flags})
    find_package(ZLIB REQUIRED)
    target_link_libraries(fuzz_readers PRIVATE PkgConfig::TURBOJPEG ZLIB::ZLIB sp::warnings)
elseif(SP_FUZZ)
    message(WARNING "SP_FUZZ needs clang (the C++ compiler is ${CMAKE_CXX_COMPILER_ID}): "
                    "no fuzz targets")
endif()
