#pragma once
/// sp's MPI communicator: a move-only owner of an MPI_Comm with MPI_ERRORS_RETURN set, whose every
/// call is checked and turned into sp::MpiError on failure. See sp/mpi/mpi.hpp for usage.
/// This header does not include <mpi.h>; sp/mpi/native.hpp does, for code that calls MPI itself.

#include "sp/util/error.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace sp::mpi {

/// Reduction operations for allreduce.
enum class Op { sum, min, max };

namespace detail {
struct Access;
} // namespace detail

/// An MPI communicator owned by sp: the collectives the sweep uses (gather of outcomes, any_of of
/// flags, the node split for threads per rank). Move-only: moving leaves the source null; there
/// is no copy. The destructor frees the communicator (MPI_Comm_free) if MPI is not
/// finalized yet, and never throws. Every operation throws MpiError on an MPI failure, with the
/// MPI function, MPI's error text and the rank ("MPI_Gatherv failed on rank 1 of 2: MPI_ERR_ROOT:
/// invalid root"); the communicator stays usable afterwards. Operations on a null Comm throw
/// InternalError. Operations marked collective must be called by every rank, in the same order;
/// so must the destructor and move-assignment of a non-null Comm (MPI_Comm_free is collective).
class Comm {
  public:
    /// A null communicator (what a moved-from Comm is).
    Comm() noexcept;
    /// A duplicate of MPI_COMM_WORLD (MPI_COMM_WORLD's own error handler is left alone).
    /// Throws InternalError if MPI is not initialised (create an Environment first).
    /// \note collective
    static Comm world();
    /// Frees the communicator if MPI is still running; logs (never throws) on failure.
    ~Comm();
    /// Takes over `other`'s communicator; `other` becomes null.
    Comm(Comm&& other) noexcept;
    /// Frees this communicator, then takes over `other`'s; `other` becomes null.
    Comm& operator=(Comm&& other) noexcept;
    Comm(const Comm&) = delete;
    Comm& operator=(const Comm&) = delete;

    /// The ranks of this communicator that share this node's memory (MPI_Comm_split_type with
    /// MPI_COMM_TYPE_SHARED), ordered as in this communicator.
    /// \note collective
    Comm split_node() const;

    /// True for a default-constructed or moved-from Comm.
    bool is_null() const noexcept { return state_ == nullptr; }
    /// This process's rank, 0 <= rank() < size().
    int rank() const;
    /// The number of ranks.
    int size() const;
    /// This process's rank among the ranks on its node (cached when the Comm was made).
    int local_rank() const;
    /// The number of ranks on this node (cached when the Comm was made).
    int local_size() const;
    /// Waits until every rank has called it.
    /// \note collective
    void barrier() const;

    /// Every rank's `value`, in rank order, on `root`; an empty vector on the other ranks.
    /// Throws MpiError if the strings add up to more than INT_MAX bytes (on every rank alike).
    /// \note collective
    std::vector<std::string> gather(const std::string& value, int root) const;
    /// Every rank's `value`, in rank order, on every rank.
    /// \note collective
    std::vector<std::int64_t> allgather(std::int64_t value) const;

    /// The sum, minimum or maximum of `value` over all ranks, on every rank. Sums may overflow.
    /// \note collective
    std::int64_t allreduce(std::int64_t value, Op op) const;
    /// As above for any integer type (so that `allreduce(rank, Op::sum)` is not ambiguous).
    /// Throws InternalError for an unsigned value above INT64_MAX.
    /// \note collective
    template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool> &&
                                            !std::is_same_v<I, std::int64_t>,
                                        int> = 0>
    std::int64_t allreduce(I value, Op op) const {
        if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
            SP_CHECK(value <= static_cast<I>(std::numeric_limits<std::int64_t>::max()),
                     "allreduce: unsigned value does not fit in int64");
        }
        return allreduce(static_cast<std::int64_t>(value), op);
    }
    /// True on every rank if `value` is true on every rank (MPI_LAND).
    /// \note collective
    bool all_of(bool value) const;
    /// True on every rank if `value` is true on some rank (MPI_LOR).
    /// \note collective
    bool any_of(bool value) const;

    /// Ends every process of this communicator's job with exit status `code` (MPI_Abort).
    [[noreturn]] void abort(int code) const;

  private:
    struct State;
    friend struct detail::Access;

    explicit Comm(std::unique_ptr<State> state) noexcept;
    const State& state() const;

    std::unique_ptr<State> state_;
};

} // namespace sp::mpi
