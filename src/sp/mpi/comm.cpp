#include "sp/mpi/comm.hpp"

#include "sp/mpi/native.hpp"
#include "sp/util/log.hpp"

#include <climits>
#include <cstdlib>
#include <numeric>
#include <utility>

namespace sp::mpi {

namespace detail {

std::string error_string(int code) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
        return "unknown MPI error code " + std::to_string(code);
    }
    return std::string(text, static_cast<std::size_t>(length));
}

MpiError call_error(const char* function, int code, int rank, int size) {
    std::string message = function;
    message += " failed";
    if (rank >= 0) message += " on rank " + std::to_string(rank) + " of " + std::to_string(size);
    return MpiError(message + ": " + error_string(code));
}

} // namespace detail

struct Comm::State {
    MPI_Comm comm = MPI_COMM_NULL;
    int rank = -1;
    int size = 0;
    int local_rank = -1;
    int local_size = 0;

    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State();

    void check(int code, const char* function) const { detail::check(code, function, rank, size); }

    /// `value` reduced over the ranks with MPI_LAND or MPI_LOR.
    bool reduce_flag(bool value, MPI_Op op) const {
        const int mine = value ? 1 : 0;
        int result = 0;
        check(MPI_Allreduce(&mine, &result, 1, MPI_INT, op, comm), "MPI_Allreduce");
        return result != 0;
    }

    /// Owns `comm` from the start, so that it is freed even if a later call here fails; sets
    /// MPI_ERRORS_RETURN and reads rank and size. The ranks given are for error messages only.
    static std::unique_ptr<State> adopt(MPI_Comm comm, int rank_for_errors, int size_for_errors);
};

Comm::State::~State() {
    if (comm == MPI_COMM_NULL) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    // After MPI_Finalize the handle is gone already and MPI_Comm_free would be erroneous.
    if (finalized != 0) return;
    const int code = MPI_Comm_free(&comm);
    if (code != MPI_SUCCESS) {
        log::error(detail::call_error("MPI_Comm_free", code, rank, size).what());
    }
}

namespace {

MPI_Op to_mpi(Op op) {
    switch (op) {
    case Op::sum:
        return MPI_SUM;
    case Op::min:
        return MPI_MIN;
    case Op::max:
        return MPI_MAX;
    }
    throw InternalError("unknown sp::mpi::Op " + std::to_string(static_cast<int>(op)));
}

int checked_count(std::size_t bytes, const char* function, int rank, int size) {
    if (bytes > static_cast<std::size_t>(INT_MAX)) {
        throw MpiError(std::string(function) + " failed on rank " + std::to_string(rank) + " of " +
                       std::to_string(size) + ": " + std::to_string(bytes) +
                       " bytes is more than one MPI message can hold (INT_MAX)");
    }
    return static_cast<int>(bytes);
}

} // namespace

std::unique_ptr<Comm::State> Comm::State::adopt(MPI_Comm comm, int rank_for_errors,
                                                int size_for_errors) {
    auto state = std::make_unique<State>();
    state->comm = comm;
    state->rank = rank_for_errors;
    state->size = size_for_errors;
    state->check(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    state->check(MPI_Comm_rank(comm, &state->rank), "MPI_Comm_rank");
    state->check(MPI_Comm_size(comm, &state->size), "MPI_Comm_size");
    return state;
}

namespace detail {
struct Access {
    static MPI_Comm handle(const Comm& comm) { return comm.state().comm; }
};
} // namespace detail

MPI_Comm native(const Comm& comm) { return detail::Access::handle(comm); }

Comm::Comm() noexcept = default;
Comm::Comm(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
Comm::~Comm() = default;
Comm::Comm(Comm&& other) noexcept = default;
Comm& Comm::operator=(Comm&& other) noexcept = default;

const Comm::State& Comm::state() const {
    SP_CHECK(state_ != nullptr, "operation on a null sp::mpi::Comm (moved from?)");
    return *state_;
}

Comm Comm::world() {
    int initialized = 0;
    int finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    SP_CHECK(initialized != 0 && finalized == 0,
             "sp::mpi::Comm::world() needs MPI running: create an sp::mpi::Environment first");
    // MPI_COMM_WORLD keeps its fatal error handler: a failure on it aborts, so these return.
    int world_rank = 0;
    int world_size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    MPI_Comm comm = MPI_COMM_NULL;
    detail::check(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup", world_rank, world_size);
    Comm result(State::adopt(comm, world_rank, world_size));
    const Comm node = result.split_node();
    result.state_->local_rank = node.rank();
    result.state_->local_size = node.size();
    return result;
}

Comm Comm::split_node() const {
    const State& s = state();
    MPI_Comm comm = MPI_COMM_NULL;
    s.check(MPI_Comm_split_type(s.comm, MPI_COMM_TYPE_SHARED, s.rank, MPI_INFO_NULL, &comm),
            "MPI_Comm_split_type");
    Comm node(State::adopt(comm, s.rank, s.size));
    node.state_->local_rank = node.state_->rank;
    node.state_->local_size = node.state_->size;
    return node;
}

int Comm::rank() const { return state().rank; }
int Comm::size() const { return state().size; }
int Comm::local_rank() const { return state().local_rank; }
int Comm::local_size() const { return state().local_size; }

void Comm::barrier() const {
    const State& s = state();
    s.check(MPI_Barrier(s.comm), "MPI_Barrier");
}

std::vector<std::string> Comm::gather(const std::string& value, int root) const {
    const State& s = state();
    // Every rank learns every length, so every rank takes the same path below, even on an error.
    const std::vector<std::int64_t> lengths = allgather(static_cast<std::int64_t>(value.size()));
    const auto total =
        static_cast<std::size_t>(std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0}));
    checked_count(total, "MPI_Gatherv", s.rank, s.size);

    std::vector<int> counts;
    std::vector<int> displacements;
    std::string all;
    if (s.rank == root) {
        all.resize(total);
        int offset = 0;
        for (std::int64_t length : lengths) {
            counts.push_back(static_cast<int>(length));
            displacements.push_back(offset);
            offset += static_cast<int>(length);
        }
    }
    s.check(MPI_Gatherv(value.data(), static_cast<int>(value.size()), MPI_BYTE, all.data(),
                        counts.data(), displacements.data(), MPI_BYTE, root, s.comm),
            "MPI_Gatherv");

    std::vector<std::string> gathered;
    if (s.rank == root) {
        gathered.reserve(lengths.size());
        for (std::size_t r = 0; r < lengths.size(); ++r) {
            gathered.push_back(all.substr(static_cast<std::size_t>(displacements[r]),
                                          static_cast<std::size_t>(counts[r])));
        }
    }
    return gathered;
}

std::vector<std::int64_t> Comm::allgather(std::int64_t value) const {
    const State& s = state();
    std::vector<std::int64_t> values(static_cast<std::size_t>(s.size));
    s.check(MPI_Allgather(&value, 1, MPI_INT64_T, values.data(), 1, MPI_INT64_T, s.comm),
            "MPI_Allgather");
    return values;
}

std::int64_t Comm::allreduce(std::int64_t value, Op op) const {
    const State& s = state();
    std::int64_t result = 0;
    s.check(MPI_Allreduce(&value, &result, 1, MPI_INT64_T, to_mpi(op), s.comm), "MPI_Allreduce");
    return result;
}

bool Comm::all_of(bool value) const { return state().reduce_flag(value, MPI_LAND); }

bool Comm::any_of(bool value) const { return state().reduce_flag(value, MPI_LOR); }

void Comm::abort(int code) const {
    const State& s = state();
    MPI_Abort(s.comm, code);
    // MPI_Abort does not return; should an implementation's ever do, end this process at least.
    std::_Exit(code);
}

} // namespace sp::mpi
