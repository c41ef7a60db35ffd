#pragma once
/// A job-wide counter for dynamic scheduling without a manager rank: every rank takes the next
/// work item with one atomic fetch-and-add (MPI_Fetch_and_op under a shared MPI_Win_lock) on a
/// window held by rank `root` (MPI-3 one-sided, passive target), so rank 0 works like everyone
/// else.
///
/// Whether a draw waits on `root` depends on the transport. sp runs MPI at thread level FUNNELED
/// with no progress thread, and `root` makes no MPI call while it runs a replicate. Where the
/// atomic is done by the origin itself (shared memory; networks with hardware atomics) a draw does
/// not wait on any other rank. Where one-sided atomics are emulated with messages (e.g. TCP without
/// RDMA), the fetch-and-add may wait until `root` next enters MPI, which can be the end of its
/// current replicate. (Issue 17 tests and fixes this.)
///
///     sp::mpi::SharedCounter next_item(world, 0);
///     for (std::int64_t i = next_item.next(); i < n; i = next_item.next()) run(items[i]);
///
/// Construction and destruction are collective over the communicator.

#include "sp/mpi/comm.hpp"

#include <cstdint>
#include <memory>

namespace sp::mpi {

/// The counter: one int64 on `root`, starting at 0. Not thread-safe: call from the main thread.
class SharedCounter {
  public:
    /// Creates the window, the counter at 0 on `root`. Keeps a reference to `comm`, which must
    /// outlive this object. Throws MpiError if MPI fails.
    /// \note collective
    SharedCounter(const Comm& comm, int root);
    /// Frees the window (logs, never throws, on failure).
    /// \note collective
    ~SharedCounter();
    SharedCounter(const SharedCounter&) = delete;
    SharedCounter& operator=(const SharedCounter&) = delete;

    /// Returns the counter's value and adds 1 to it, atomically across the job (see above for
    /// when it waits on `root`). Throws MpiError if MPI fails.
    std::int64_t next();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace sp::mpi
