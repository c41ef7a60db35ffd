# sp's dependencies from a private prefix of unpacked Debian 12 packages (scripts/gpu-prefix.sh):
# HDF5, Open MPI, toml++, CLI11, GoogleTest, Boost.Math, libturbojpeg, zlib, pkgconf.
#
# Included before project() (CMAKE_PROJECT_INCLUDE_BEFORE; the `cluster` preset sets it), and a
# no-op unless SP_DEPS_PREFIX names such a prefix (`source .gpu-prefix/env.sh` exports it):
#   SP_DEPS_PREFIX=$PWD/.gpu-prefix cmake --preset cluster
# It puts the prefix first on CMAKE_PREFIX_PATH, points FindHDF5, FindMPI and FindPkgConfig at
# the prefix's relocated programs, and links the programs with an RPATH into the prefix
# (DT_RPATH, which also covers indirect dependencies of libraries without a RUNPATH). Running
# still needs `source .gpu-prefix/env.sh`: Debian's Open MPI libraries carry a RUNPATH
# (/usr/lib/x86_64-linux-gnu/openmpi/lib), which hides the program's RPATH for their own
# dependencies, so they are found through LD_LIBRARY_PATH; mpirun needs OPAL_PREFIX.
include_guard(GLOBAL)

if(NOT SP_DEPS_PREFIX AND DEFINED ENV{SP_DEPS_PREFIX})
    set(SP_DEPS_PREFIX "$ENV{SP_DEPS_PREFIX}")
endif()
set(SP_DEPS_PREFIX "${SP_DEPS_PREFIX}" CACHE PATH
    "Private prefix of sp's dependencies (scripts/gpu-prefix.sh); empty: the system's")
if(NOT SP_DEPS_PREFIX)
    return()
endif()
if(NOT EXISTS "${SP_DEPS_PREFIX}/STAMP" OR NOT IS_DIRECTORY "${SP_DEPS_PREFIX}/root/usr")
    message(FATAL_ERROR "SP_DEPS_PREFIX=${SP_DEPS_PREFIX} is not a prefix made by "
                        "scripts/gpu-prefix.sh (no STAMP or root/usr): run scripts/gpu-prefix.sh")
endif()

set(_sp_root "${SP_DEPS_PREFIX}/root")
set(_sp_lib "${_sp_root}/usr/lib/x86_64-linux-gnu")
message(STATUS "sp: dependencies from ${SP_DEPS_PREFIX}")

# Found first: the config packages (Boost, GTest, tomlplusplus, CLI11) and zlib.
list(PREPEND CMAKE_PREFIX_PATH "${_sp_root}/usr")

# The programs FindHDF5, FindMPI and FindPkgConfig run, with the environment they need.
set(ENV{LD_LIBRARY_PATH} "${_sp_lib}:${_sp_lib}/openmpi/lib:${_sp_lib}/pmix2/lib:$ENV{LD_LIBRARY_PATH}")
set(ENV{OPAL_PREFIX} "${_sp_root}/usr")
set(ENV{PKG_CONFIG_LIBDIR} "${_sp_lib}/pkgconfig:${_sp_root}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_sp_root}")
set(HDF5_C_COMPILER_EXECUTABLE "${SP_DEPS_PREFIX}/bin/h5cc" CACHE FILEPATH "HDF5 wrapper (prefix)")
set(MPI_CXX_COMPILER "${_sp_root}/usr/bin/mpicxx.openmpi" CACHE FILEPATH "MPI C++ wrapper (prefix)")
set(MPI_C_COMPILER "${_sp_root}/usr/bin/mpicc.openmpi" CACHE FILEPATH "MPI C wrapper (prefix)")
set(MPIEXEC_EXECUTABLE "${_sp_root}/usr/bin/mpiexec.openmpi" CACHE FILEPATH "mpiexec (prefix)")
set(PKG_CONFIG_EXECUTABLE "${_sp_root}/usr/bin/pkgconf" CACHE FILEPATH "pkg-config (prefix)")

# Run-time search path of everything built here: the prefix's library folders, as DT_RPATH
# (searched for indirect dependencies too, unlike DT_RUNPATH).
set(CMAKE_BUILD_RPATH "${_sp_lib};${_sp_lib}/openmpi/lib;${_sp_lib}/pmix2/lib" CACHE STRING
    "RPATH of the build tree (prefix)")
string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,--disable-new-dtags -Wl,-rpath-link,${_sp_lib}")
string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -Wl,--disable-new-dtags -Wl,-rpath-link,${_sp_lib}")
unset(_sp_root)
unset(_sp_lib)
