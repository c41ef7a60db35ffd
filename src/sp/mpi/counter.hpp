#pragma once
/// A job-wide counter for dynamic scheduling without a manager rank: every rank takes the next
/// work item with one atomic fetch-and-add on a window held by rank `root` (MPI-3 one-sided,
/// passive target), so rank 0 works like everyone else and no rank waits on another.
///
///     sp::mpi::SharedCounter next_item(world, 0);
///     for (std::int64_t i = next_item.next(); i < n; i = next_item.next()) run(items[i]);
///
/// Construction and destruction are collective over the communicator.

#include "sp/mpi/comm.hpp"

#include <cstdint>
#include <memory>

namespace sp::mpi {

class SharedCounter {
  public:
    /// Collective: creates the window, the counter at 0 on `root`.
    SharedCounter(const Comm& comm, int root);
    /// Collective: frees the window.
    ~SharedCounter();
    SharedCounter(const SharedCounter&) = delete;
    SharedCounter& operator=(const SharedCounter&) = delete;

    /// Returns the counter's value and adds 1 to it, atomically across the job.
    std::int64_t next();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace sp::mpi
