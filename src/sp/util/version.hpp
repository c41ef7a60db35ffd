#pragma once
/// sp's version (from `project(sp VERSION ...)`) and the git revision it was built from.

#include <string>

namespace sp {

/// "MAJOR.MINOR.PATCH".
const char* version() noexcept;
/// Short git revision at configure time, "-dirty" when the tree had changes; "unknown" outside git.
const char* git_revision() noexcept;
/// HDF5 library version in use at run time, "1.10.8".
std::string hdf5_version();
/// MPI library version string (MPI_Get_library_version), first line.
std::string mpi_library_version();

} // namespace sp
