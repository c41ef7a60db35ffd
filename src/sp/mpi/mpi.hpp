#pragma once
/// sp's MPI layer: MPI's lifetime (Environment), a checked, owned communicator (Comm) and the
/// thread count per rank. One replicate per rank; rank 0 also schedules. Does not include <mpi.h>.
///
///     int main(int argc, char** argv) {
///         sp::mpi::Environment env(argc, argv);           // MPI_Init_thread, FUNNELED
///         const sp::mpi::Comm& world = env.world();       // dup of MPI_COMM_WORLD
///         sp::log::set_rank(world.rank());
///         sp::set_torch_threads(sp::mpi::threads_per_rank(world));
///
///         std::string plan = world.rank() == 0 ? make_plan() : "";
///         world.broadcast(plan, /*root=*/0);
///         if (world.rank() == 0) {                        // manager: answer whoever asks
///             sp::mpi::Status st = world.probe();         // or iprobe(), which never waits
///             std::int64_t finished = world.recv_int64(st.source, st.tag);
///             world.send(next_replicate_config(), st.source, /*tag=*/1);
///         } else {                                        // worker: ask for work
///             world.send(std::int64_t{-1}, /*dest=*/0, /*tag=*/0);
///             std::string config = world.recv_string(/*source=*/0, /*tag=*/1);
///         }
///         const std::int64_t failed = world.allreduce(my_failures, sp::mpi::Op::sum);
///         std::vector<std::string> errors = world.gather(my_errors, /*root=*/0);
///     }                                                    // MPI_Finalize (if we initialised)
///
/// Errors: every MPI call is checked; a failure throws sp::MpiError naming the call, MPI's text
/// and the rank, and leaves the communicator usable (MPI_ERRORS_RETURN is set on sp's
/// communicators; MPI_COMM_WORLD keeps its own handler). Functions that every rank must call are
/// marked `\note collective`.

#include "sp/mpi/comm.hpp"
#include "sp/mpi/environment.hpp"
#include "sp/mpi/threads.hpp"
