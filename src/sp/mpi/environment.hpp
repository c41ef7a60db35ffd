#pragma once
/// MPI's lifetime in one RAII object: initialise on construction, finalize on destruction, but only
/// if this object was the one that initialised MPI (mpl's mpl/environment.hpp). See sp/mpi/mpi.hpp.
///
/// Singleton runs: a plain `./sp_sweep` without mpiexec initialises Open MPI as a one-rank job
/// (MPI "singleton init"). With Open MPI 4.1 this needs no environment variables, also as root
/// (OMPI_ALLOW_RUN_AS_ROOT is only checked by mpiexec/mpirun, which root must still set there).

#include "sp/mpi/comm.hpp"

#include <string>

namespace sp::mpi {

/// MPI thread support levels, in increasing order (MPI_THREAD_SINGLE ... MPI_THREAD_MULTIPLE).
enum class ThreadLevel { single = 0, funneled = 1, serialized = 2, multiple = 3 };

/// "single", "funneled", "serialized" or "multiple".
const char* to_string(ThreadLevel level) noexcept;

/// Initialises MPI (MPI_Init_thread, asking for MPI_THREAD_MULTIPLE: the work counter's server
/// thread on its root rank calls MPI while the main thread may too, see counter.hpp; LibTorch's
/// worker threads never call MPI; with less, the counter falls back to a window) and finalizes it
/// at the end of its scope if it was the one that initialised it. If MPI was already initialised
/// by someone else, it adopts that state and leaves MPI running. One instance per process: a
/// second one while the first lives throws InternalError, and one after MPI was finalized throws
/// MpiError (MPI cannot restart).
/// \note collective: all ranks construct it and all ranks destroy it. The destructor's
/// MPI_Finalize waits for every rank of the job (Open MPI), so a rank that throws while the
/// others still work or wait in a collective blocks there (and so would a rank left waiting for
/// it): abort() ends the whole job instead. sp_sweep calls it for any exception that escapes its
/// work on any rank of a job of more than one rank, from the work loop (before the work counter's
/// destructor, which on its root waits for every other rank) to the end-of-sweep reduction; the
/// expected failures do not escape: a replicate's failure is caught and recorded in its result
/// file (exit 3), and a reduction refused as bad input is logged (exit 2).
class Environment {
  public:
    /// Initialises MPI without command-line arguments.
    Environment();
    /// Initialises MPI with main's arguments (Open MPI does not modify them).
    Environment(int& argc, char**& argv);
    /// Frees world() and, if this object initialised MPI, calls MPI_Finalize. Never throws.
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;
    Environment(Environment&&) = delete;
    Environment& operator=(Environment&&) = delete;

    /// The thread support level MPI provided (may be below the multiple level asked for).
    ThreadLevel thread_level() const noexcept { return thread_level_; }
    /// True if this object initialised MPI and will finalize it.
    bool owns_mpi() const noexcept { return owns_mpi_; }
    /// sp's duplicate of MPI_COMM_WORLD, with MPI_ERRORS_RETURN; valid while this object lives.
    const Comm& world() const noexcept { return world_; }

    /// MPI_Initialized: whether MPI_Init has been called in this process (by anyone).
    static bool initialized();
    /// Ends the whole job, every rank, now: logs `message` as an error of this rank (with
    /// "ending the job"), then MPI_Abort on MPI_COMM_WORLD with `code`, which mpiexec (Open MPI)
    /// and srun return as the job's exit status. Never returns; destructors do not run (the
    /// temporaries of atomic files are left, see sp/io/atomic.hpp). Callable from any one rank, any
    /// thread.
    [[noreturn]] void abort(int code, const std::string& message) const noexcept;

    /// MPI_Finalized: whether MPI_Finalize has been called in this process.
    static bool finalized();
    /// MPI_Get_library_version's text, first line ("Open MPI v4.1.4, ..."); callable any time.
    static std::string library_version();

  private:
    void init(int* argc, char*** argv);

    ThreadLevel thread_level_ = ThreadLevel::single;
    bool owns_mpi_ = false;
    Comm world_;
};

} // namespace sp::mpi
