#include "sp/mpi/comm.hpp"

#include "sp/mpi/native.hpp"
#include "sp/util/log.hpp"

#include <algorithm>
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

// MPI counts are ints: larger buffers are moved in pieces of this many bytes.
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

int source_arg(int source) { return source == kAnySource ? MPI_ANY_SOURCE : source; }
int tag_arg(int tag) { return tag == kAnyTag ? MPI_ANY_TAG : tag; }

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

Status to_status(const MPI_Status& status, int rank, int size) {
    int count = 0;
    detail::check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count", rank, size);
    return Status{status.MPI_SOURCE, status.MPI_TAG, static_cast<std::size_t>(count)};
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

Comm Comm::dup() const {
    const State& s = state();
    MPI_Comm comm = MPI_COMM_NULL;
    s.check(MPI_Comm_dup(s.comm, &comm), "MPI_Comm_dup");
    Comm copy(State::adopt(comm, s.rank, s.size));
    copy.state_->local_rank = s.local_rank;
    copy.state_->local_size = s.local_size;
    return copy;
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

std::string Comm::processor_name() const {
    const State& s = state();
    char name[MPI_MAX_PROCESSOR_NAME];
    int length = 0;
    s.check(MPI_Get_processor_name(name, &length), "MPI_Get_processor_name");
    return std::string(name, static_cast<std::size_t>(length));
}

void Comm::barrier() const {
    const State& s = state();
    s.check(MPI_Barrier(s.comm), "MPI_Barrier");
}

void Comm::broadcast_bytes(void* data, std::size_t bytes, int root) const {
    const State& s = state();
    auto* p = static_cast<char*>(data);
    while (bytes > 0) {
        const std::size_t chunk = std::min(bytes, kMaxChunk);
        s.check(MPI_Bcast(p, static_cast<int>(chunk), MPI_BYTE, root, s.comm), "MPI_Bcast");
        p += chunk;
        bytes -= chunk;
    }
}

void Comm::broadcast(std::string& value, int root) const {
    auto length = static_cast<std::uint64_t>(value.size());
    broadcast_bytes(&length, sizeof length, root);
    value.resize(static_cast<std::size_t>(length));
    broadcast_bytes(value.data(), value.size(), root);
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

double Comm::allreduce(double value, Op op) const {
    const State& s = state();
    double result = 0.0;
    s.check(MPI_Allreduce(&value, &result, 1, MPI_DOUBLE, to_mpi(op), s.comm), "MPI_Allreduce");
    return result;
}

bool Comm::all_of(bool value) const {
    const State& s = state();
    int mine = value ? 1 : 0;
    int result = 0;
    s.check(MPI_Allreduce(&mine, &result, 1, MPI_INT, MPI_LAND, s.comm), "MPI_Allreduce");
    return result != 0;
}

bool Comm::any_of(bool value) const {
    const State& s = state();
    int mine = value ? 1 : 0;
    int result = 0;
    s.check(MPI_Allreduce(&mine, &result, 1, MPI_INT, MPI_LOR, s.comm), "MPI_Allreduce");
    return result != 0;
}

void Comm::send(const std::string& message, int dest, int tag) const {
    const State& s = state();
    const int count = checked_count(message.size(), "MPI_Send", s.rank, s.size);
    s.check(MPI_Send(message.data(), count, MPI_BYTE, dest, tag, s.comm), "MPI_Send");
}

void Comm::send(std::int64_t value, int dest, int tag) const {
    const State& s = state();
    s.check(MPI_Send(&value, 1, MPI_INT64_T, dest, tag, s.comm), "MPI_Send");
}

std::string Comm::recv_string(int source, int tag, Status* status) const {
    const State& s = state();
    // A matched probe (MPI_Mprobe/MPI_Mrecv) ties the size we read to the message we receive,
    // even with wildcards.
    MPI_Message message = MPI_MESSAGE_NULL;
    MPI_Status probed;
    s.check(MPI_Mprobe(source_arg(source), tag_arg(tag), s.comm, &message, &probed), "MPI_Mprobe");
    const Status found = to_status(probed, s.rank, s.size);
    std::string value(found.bytes, '\0');
    s.check(MPI_Mrecv(value.data(), static_cast<int>(found.bytes), MPI_BYTE, &message,
                      MPI_STATUS_IGNORE),
            "MPI_Mrecv");
    if (status != nullptr) *status = found;
    return value;
}

std::int64_t Comm::recv_int64(int source, int tag, Status* status) const {
    const State& s = state();
    std::int64_t value = 0;
    MPI_Status received;
    s.check(MPI_Recv(&value, 1, MPI_INT64_T, source_arg(source), tag_arg(tag), s.comm, &received),
            "MPI_Recv");
    if (status != nullptr) *status = to_status(received, s.rank, s.size);
    return value;
}

Status Comm::probe(int source, int tag) const {
    const State& s = state();
    MPI_Status found;
    s.check(MPI_Probe(source_arg(source), tag_arg(tag), s.comm, &found), "MPI_Probe");
    return to_status(found, s.rank, s.size);
}

std::optional<Status> Comm::iprobe(int source, int tag) const {
    const State& s = state();
    int flag = 0;
    MPI_Status found;
    s.check(MPI_Iprobe(source_arg(source), tag_arg(tag), s.comm, &flag, &found), "MPI_Iprobe");
    if (flag == 0) return std::nullopt;
    return to_status(found, s.rank, s.size);
}

void Comm::abort(int code) const {
    const State& s = state();
    MPI_Abort(s.comm, code);
    // MPI_Abort does not return; should an implementation's ever do, end this process at least.
    std::_Exit(code);
}

} // namespace sp::mpi
