#pragma once
/// sp's version (from `project(sp VERSION ...)`) and the git revision it was built from.

#include <string>

namespace sp {

/// "MAJOR.MINOR.PATCH".
const char* version() noexcept;
/// Short git revision the binary was built from (taken at every build, not at configure time),
/// "-dirty" when tracked files had changes; "unknown" outside git.
const char* git_revision() noexcept;
/// The C++ compiler sp was built with, "GNU 12.2.0".
const char* compiler() noexcept;
/// CMAKE_CXX_FLAGS and the build type's flags sp was built with, "-O2 -g -DNDEBUG".
const char* compiler_flags() noexcept;
/// CMake build type, "RelWithDebInfo"; "" for a multi-config generator.
const char* build_type() noexcept;
/// HDF5 library version in use at run time, "1.10.8".
std::string hdf5_version();
/// MPI library version string (MPI_Get_library_version), first line.
std::string mpi_library_version();

} // namespace sp
