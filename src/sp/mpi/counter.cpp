#include "sp/mpi/counter.hpp"

#include "sp/mpi/native.hpp"
#include "sp/util/log.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <system_error>
#include <thread>

namespace sp::mpi {

namespace detail {

/// One way of handing out the numbers; constructed and destroyed collectively.
class CounterImpl {
  public:
    explicit CounterImpl(CounterMode mode) : mode_(mode) {}
    virtual ~CounterImpl() = default;
    CounterImpl(const CounterImpl&) = delete;
    CounterImpl& operator=(const CounterImpl&) = delete;

    virtual std::int64_t next() = 0;
    CounterMode mode() const noexcept { return mode_; }

  private:
    CounterMode mode_;
};

} // namespace detail

namespace {

// Message tags on the counter's private communicator.
constexpr int kTagDraw = 1;  // rank -> root, empty: "give me the next number"
constexpr int kTagValue = 2; // root -> rank, one int64: the number
constexpr int kTagDone = 3;  // rank -> root, empty: "I will not draw again"

// The server thread's pause between polls when idle: short right after a request (a rank that
// drew once often draws again soon, as in the tests), growing to a bound that keeps an idle
// server's cost negligible (~100 MPI_Improbe calls a second) and a draw's latency small next to a
// replicate.
constexpr std::chrono::microseconds kFirstPause{50};
constexpr std::chrono::microseconds kLongestPause{10'000};

/// A server thread on `root` owns the number (an atomic, which root's own draws use directly);
/// the other ranks ask it with MPI_Send/MPI_Recv on a duplicate of the communicator, so their
/// messages never meet the caller's.
class ServerCounter final : public detail::CounterImpl {
  public:
    ServerCounter(const Comm& comm, int root);
    ~ServerCounter() override;
    ServerCounter(const ServerCounter&) = delete;
    ServerCounter& operator=(const ServerCounter&) = delete;

    std::int64_t next() override;

  private:
    void serve() noexcept;
    [[noreturn]] void fail_in_server(const char* function, int code) const noexcept;
    void stop_server() noexcept;
    void free_channel() noexcept;

    int root_;
    int rank_;
    int size_;
    MPI_Comm channel_ = MPI_COMM_NULL;
    std::atomic<std::int64_t> value_{0};
    std::atomic<bool> abandon_{false};
    std::thread server_;
};

ServerCounter::ServerCounter(const Comm& comm, int root)
    : CounterImpl(CounterMode::server), root_(root), rank_(comm.rank()), size_(comm.size()) {
    if (size_ == 1) return; // no one to serve: root's draws are local
    detail::check(MPI_Comm_dup(native(comm), &channel_), "MPI_Comm_dup", comm);
    bool started = true;
    if (rank_ == root_) {
        try {
            server_ = std::thread([this] { serve(); });
        } catch (const std::system_error& e) {
            log::error(std::string("cannot start the work counter's server thread: ") + e.what());
            started = false;
        }
    }
    try {
        // Every rank learns whether root serves; without this a failed start on root would leave
        // the others waiting for answers.
        if (!comm.all_of(started)) {
            throw MpiError("the work counter's server thread could not be started on rank " +
                           std::to_string(root_));
        }
    } catch (...) {
        stop_server();
        free_channel();
        throw;
    }
}

ServerCounter::~ServerCounter() {
    if (size_ == 1) return;
    if (rank_ != root_) {
        const int code = MPI_Send(nullptr, 0, MPI_BYTE, root_, kTagDone, channel_);
        if (code != MPI_SUCCESS) {
            log::error(detail::call_error("MPI_Send", code, rank_, size_).what() +
                       std::string(" (work counter: done)"));
        }
    } else if (server_.joinable()) {
        server_.join(); // returns once every other rank has sent kTagDone
    }
    free_channel();
}

std::int64_t ServerCounter::next() {
    if (rank_ == root_) return value_.fetch_add(1);
    std::int64_t value = 0;
    detail::check(MPI_Send(nullptr, 0, MPI_BYTE, root_, kTagDraw, channel_), "MPI_Send", rank_,
                  size_);
    detail::check(MPI_Recv(&value, 1, MPI_INT64_T, root_, kTagValue, channel_, MPI_STATUS_IGNORE),
                  "MPI_Recv", rank_, size_);
    return value;
}

void ServerCounter::serve() noexcept {
    int done = 0;
    auto pause = kFirstPause;
    while (done < size_ - 1 && !abandon_.load()) {
        int flag = 0;
        MPI_Message message = MPI_MESSAGE_NULL;
        MPI_Status status;
        int code = MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, channel_, &flag, &message, &status);
        if (code != MPI_SUCCESS) fail_in_server("MPI_Improbe", code);
        if (flag == 0) {
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, kLongestPause);
            continue;
        }
        pause = kFirstPause;
        code = MPI_Mrecv(nullptr, 0, MPI_BYTE, &message, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS) fail_in_server("MPI_Mrecv", code);
        if (status.MPI_TAG == kTagDone) {
            ++done;
        } else if (status.MPI_TAG == kTagDraw) {
            const std::int64_t value = value_.fetch_add(1);
            code = MPI_Send(&value, 1, MPI_INT64_T, status.MPI_SOURCE, kTagValue, channel_);
            if (code != MPI_SUCCESS) fail_in_server("MPI_Send", code);
        }
    }
}

void ServerCounter::fail_in_server(const char* function, int code) const noexcept {
    // No one can catch an exception on this thread, and the rank waiting for an answer would wait
    // forever: end the job, as a rank's unrecoverable error must.
    const MpiError error = detail::call_error(function, code, rank_, size_);
    log::error(std::string(error.what()) + " (work counter's server thread); ending the job");
    MPI_Abort(channel_, error.exit_code());
    std::abort(); // MPI_Abort does not return
}

void ServerCounter::stop_server() noexcept {
    if (!server_.joinable()) return;
    abandon_.store(true);
    server_.join();
}

void ServerCounter::free_channel() noexcept {
    if (channel_ == MPI_COMM_NULL) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized != 0) return;
    const int code = MPI_Comm_free(&channel_);
    if (code != MPI_SUCCESS) {
        log::error(detail::call_error("MPI_Comm_free", code, rank_, size_).what() +
                   std::string(" (work counter)"));
    }
}

/// MPI_Fetch_and_op under a shared lock on a window on `root` (passive target): what a draw waits
/// on depends on the osc transport (see counter.hpp).
class WindowCounter final : public detail::CounterImpl {
  public:
    WindowCounter(const Comm& comm, int root);
    ~WindowCounter() override;
    WindowCounter(const WindowCounter&) = delete;
    WindowCounter& operator=(const WindowCounter&) = delete;

    std::int64_t next() override;

  private:
    const Comm& comm_;
    int root_;
    MPI_Win window_ = MPI_WIN_NULL;
    std::int64_t* value_ = nullptr;
};

WindowCounter::WindowCounter(const Comm& comm, int root)
    : CounterImpl(CounterMode::window), comm_(comm), root_(root) {
    const MPI_Aint bytes = comm.rank() == root ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
    detail::check(MPI_Win_allocate(bytes, static_cast<int>(sizeof(std::int64_t)), MPI_INFO_NULL,
                                   native(comm), &value_, &window_),
                  "MPI_Win_allocate", comm);
    if (comm.rank() == root) {
        detail::check(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, root, 0, window_), "MPI_Win_lock", comm);
        *value_ = 0;
        detail::check(MPI_Win_unlock(root, window_), "MPI_Win_unlock", comm);
    }
    comm.barrier();
}

WindowCounter::~WindowCounter() {
    if (window_ == MPI_WIN_NULL) return;
    if (MPI_Win_free(&window_) != MPI_SUCCESS)
        log::error("MPI_Win_free failed for the work counter");
}

std::int64_t WindowCounter::next() {
    const std::int64_t one = 1;
    std::int64_t previous = 0;
    detail::check(MPI_Win_lock(MPI_LOCK_SHARED, root_, 0, window_), "MPI_Win_lock", comm_);
    detail::check(MPI_Fetch_and_op(&one, &previous, MPI_INT64_T, root_, 0, MPI_SUM, window_),
                  "MPI_Fetch_and_op", comm_);
    detail::check(MPI_Win_unlock(root_, window_), "MPI_Win_unlock", comm_);
    return previous;
}

std::atomic<bool> g_warned_window{false};

} // namespace

const char* to_string(CounterMode mode) noexcept {
    switch (mode) {
    case CounterMode::automatic:
        return "automatic";
    case CounterMode::server:
        return "server";
    case CounterMode::window:
        return "window";
    }
    return "unknown";
}

SharedCounter::SharedCounter(const Comm& comm, int root, CounterMode mode) {
    SP_CHECK(root >= 0 && root < comm.size(), "SharedCounter: root is not a rank");
    int provided = MPI_THREAD_SINGLE;
    detail::check(MPI_Query_thread(&provided), "MPI_Query_thread", comm);
    // Every rank must take the same path, or draws and answers would never meet: agree on the
    // lowest thread level and check that every rank asked for the same mode.
    const std::int64_t level = comm.allreduce(provided, Op::min);
    const auto asked = static_cast<std::int64_t>(mode);
    if (comm.allreduce(asked, Op::min) != comm.allreduce(asked, Op::max)) {
        throw InternalError("SharedCounter: the ranks asked for different counter modes");
    }
    const bool multiple = level >= MPI_THREAD_MULTIPLE || comm.size() == 1;
    if (mode == CounterMode::automatic) {
        mode = multiple ? CounterMode::server : CounterMode::window;
        if (mode == CounterMode::window && comm.rank() == root && !g_warned_window.exchange(true)) {
            log::warn("MPI provides less than MPI_THREAD_MULTIPLE: the work counter uses a "
                      "one-sided window on rank " +
                      std::to_string(root) +
                      "; where one-sided atomics are emulated (e.g. TCP without RDMA), a rank's "
                      "draw may wait until that rank finishes its replicate");
        }
    }
    if (mode == CounterMode::server && !multiple) {
        throw MpiError("the work counter's server mode needs MPI_THREAD_MULTIPLE; MPI provides "
                       "thread level " +
                       std::to_string(level));
    }
    if (mode == CounterMode::server) {
        impl_ = std::make_unique<ServerCounter>(comm, root);
    } else {
        impl_ = std::make_unique<WindowCounter>(comm, root);
    }
}

SharedCounter::~SharedCounter() = default;

std::int64_t SharedCounter::next() { return impl_->next(); }

CounterMode SharedCounter::mode() const noexcept { return impl_->mode(); }

} // namespace sp::mpi
