#pragma once
/// A job-wide counter for dynamic scheduling without a manager rank: every rank takes the next
/// work item from one sequence 0, 1, 2, ..., and rank `root` works like everyone else.
///
/// No rank's draw waits on another rank's compute. On `root`, a server thread owns the counter: it
/// answers the other ranks' draws with point-to-point messages on a private duplicate of the
/// communicator, while `root`'s main thread runs replicates for hours without entering MPI; `root`
/// itself draws with a local atomic. This needs MPI_THREAD_MULTIPLE (Environment asks for it; Open
/// MPI 4.1 as packaged by Debian provides it). The thread polls (MPI_Improbe, then sleeps up to
/// 10 ms when idle) rather than blocking in MPI_Recv, which in Open MPI spins a core that
/// `root`'s replicate needs; a draw therefore takes up to about 10 ms.
///
/// Where MPI provides less than MPI_THREAD_MULTIPLE, the counter falls back to an MPI-3 window on
/// `root` with MPI_Fetch_and_op (and logs a warning once). That draw waits on `root` wherever
/// one-sided atomics are emulated with messages (Open MPI's osc/pt2pt over TCP: measured, a draw
/// waits until `root` next enters MPI, i.e. until its replicate ends); over shared memory or
/// networks with hardware atomics it does not.
///
///     sp::mpi::SharedCounter next_item(world, 0);
///     for (std::int64_t i = next_item.next(); i < n; i = next_item.next()) run(items[i]);
///
/// Construction and destruction are collective over the communicator.

#include "sp/mpi/comm.hpp"

#include <cstdint>
#include <memory>

namespace sp::mpi {

namespace detail {
class CounterImpl;
} // namespace detail

/// How a SharedCounter hands out numbers.
enum class CounterMode {
    automatic, ///< server with MPI_THREAD_MULTIPLE or on one rank, else window
    server,    ///< a thread on `root` answers the others' draws (needs MULTIPLE on >1 rank)
    window,    ///< MPI_Fetch_and_op on a window on `root` (may wait on `root`: see above)
};

/// "automatic", "server" or "window".
const char* to_string(CounterMode mode) noexcept;

/// The counter: one int64 on `root`, starting at 0.
class SharedCounter {
  public:
    /// Sets up the counter at 0 on `root` (`mode`: see CounterMode; every rank must pass the
    /// same). Keeps a reference to `comm`, which must outlive this object. Throws MpiError if MPI
    /// fails, or for CounterMode::server on more than one rank where MPI provides less than
    /// MPI_THREAD_MULTIPLE; InternalError if `root` is not a rank or the modes differ.
    /// \note collective
    SharedCounter(const Comm& comm, int root, CounterMode mode = CounterMode::automatic);
    /// Waits until every rank has destroyed its counter (on `root`: joins the server thread once
    /// every other rank is done), then frees the MPI resources. Logs, never throws, on failure.
    /// \note collective
    ~SharedCounter();
    SharedCounter(const SharedCounter&) = delete;
    SharedCounter& operator=(const SharedCounter&) = delete;

    /// Returns the counter's value and adds 1 to it, atomically across the job. Call from the
    /// thread that made the counter. Throws MpiError if MPI fails.
    std::int64_t next();

    /// The mode in use (automatic resolved): the same on every rank.
    CounterMode mode() const noexcept;

  private:
    std::unique_ptr<detail::CounterImpl> impl_;
};

} // namespace sp::mpi
