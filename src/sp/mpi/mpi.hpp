#pragma once
/// sp's MPI layer: MPI's lifetime (Environment), a checked, owned communicator (Comm), the
/// job-wide work counter (SharedCounter) and the thread count per rank. Every rank runs
/// replicates; each takes the next one from the counter. Does not include <mpi.h>.
///
///     int main(int argc, char** argv) {
///         sp::mpi::Environment env(argc, argv);           // MPI_Init_thread, MULTIPLE
///         const sp::mpi::Comm& world = env.world();       // dup of MPI_COMM_WORLD
///         sp::log::set_rank(world.rank());
///         sp::set_torch_threads(sp::mpi::threads_per_rank(world));
///
///         std::string mine;
///         {
///             sp::mpi::SharedCounter next(world, /*root=*/0);   // collective
///             for (std::int64_t i = next.next(); i < n; i = next.next()) mine += run(i);
///         }                                                     // collective
///         std::vector<std::string> all = world.gather(mine, /*root=*/0);
///         const bool failed = world.any_of(my_failures > 0);
///     }                                                    // MPI_Finalize (if we initialised)
///
/// Errors: every MPI call is checked; a failure throws sp::MpiError naming the call, MPI's text
/// and the rank, and leaves the communicator usable (MPI_ERRORS_RETURN is set on sp's
/// communicators; MPI_COMM_WORLD keeps its own handler). Functions that every rank must call are
/// marked `\note collective`.

#include "sp/mpi/comm.hpp"
#include "sp/mpi/counter.hpp"
#include "sp/mpi/environment.hpp"
#include "sp/mpi/threads.hpp"
