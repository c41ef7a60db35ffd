#pragma once
/// The MPI C API side of sp's mpi layer, for the few files that call MPI directly: the raw handle
/// of a Comm, and the checked-call helpers that turn an MPI error code into sp::MpiError.
///
///     sp::mpi::detail::check(MPI_Barrier(sp::mpi::native(comm)), "MPI_Barrier", comm);
///
/// Includes <mpi.h> (and, with Open MPI, its deprecated C++ bindings): keep it out of headers.
/// Open MPI's handle macros (MPI_COMM_WORLD, MPI_BYTE, ...) expand to C-style casts; they come
/// from a system include directory, so -Wold-style-cast stays quiet about them.

#include "sp/mpi/comm.hpp"
#include "sp/util/error.hpp"

#include <mpi.h>

#include <string>

namespace sp::mpi {

/// The MPI_Comm that `comm` owns (still owned by `comm`: do not free it). Throws InternalError
/// for a null Comm.
MPI_Comm native(const Comm& comm);

namespace detail {

/// MPI_Error_string's text for an MPI error code ("MPI_ERR_RANK: invalid rank").
std::string error_string(int code);

/// The error for a failed call: "MPI_Send failed on rank 1 of 2: MPI_ERR_RANK: invalid rank";
/// with rank < 0 the "on rank" part is left out (before MPI_Init, say).
MpiError call_error(const char* function, int code, int rank, int size);

/// Throws call_error(...) unless `code` is MPI_SUCCESS.
inline void check(int code, const char* function, int rank, int size) {
    if (code != MPI_SUCCESS) throw call_error(function, code, rank, size);
}

/// Throws call_error(...) with `comm`'s rank and size unless `code` is MPI_SUCCESS.
inline void check(int code, const char* function, const Comm& comm) {
    if (code != MPI_SUCCESS) throw call_error(function, code, comm.rank(), comm.size());
}

} // namespace detail
} // namespace sp::mpi
