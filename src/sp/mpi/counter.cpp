#include "sp/mpi/counter.hpp"

#include "sp/mpi/native.hpp"
#include "sp/util/log.hpp"

namespace sp::mpi {

struct SharedCounter::State {
    const Comm* comm = nullptr;
    int root = 0;
    MPI_Win window = MPI_WIN_NULL;
    std::int64_t* value = nullptr;
};

SharedCounter::SharedCounter(const Comm& comm, int root) : state_(std::make_unique<State>()) {
    state_->comm = &comm;
    state_->root = root;
    const MPI_Aint bytes = comm.rank() == root ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
    detail::check(MPI_Win_allocate(bytes, static_cast<int>(sizeof(std::int64_t)), MPI_INFO_NULL,
                                   native(comm), &state_->value, &state_->window),
                  "MPI_Win_allocate", comm);
    if (comm.rank() == root) {
        detail::check(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, root, 0, state_->window), "MPI_Win_lock",
                      comm);
        *state_->value = 0;
        detail::check(MPI_Win_unlock(root, state_->window), "MPI_Win_unlock", comm);
    }
    comm.barrier();
}

SharedCounter::~SharedCounter() {
    if (state_->window == MPI_WIN_NULL) return;
    if (MPI_Win_free(&state_->window) != MPI_SUCCESS)
        log::error("MPI_Win_free failed for the work counter");
}

std::int64_t SharedCounter::next() {
    const std::int64_t one = 1;
    std::int64_t previous = 0;
    const Comm& comm = *state_->comm;
    detail::check(MPI_Win_lock(MPI_LOCK_SHARED, state_->root, 0, state_->window), "MPI_Win_lock",
                  comm);
    detail::check(
        MPI_Fetch_and_op(&one, &previous, MPI_INT64_T, state_->root, 0, MPI_SUM, state_->window),
        "MPI_Fetch_and_op", comm);
    detail::check(MPI_Win_unlock(state_->root, state_->window), "MPI_Win_unlock", comm);
    return previous;
}

} // namespace sp::mpi
