#include "sp/mpi/environment.hpp"

#include "sp/mpi/native.hpp"
#include "sp/util/log.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

namespace sp::mpi {
namespace {

std::atomic<bool> g_alive{false};

ThreadLevel from_mpi(int provided) {
    // The MPI standard orders the levels SINGLE < FUNNELED < SERIALIZED < MULTIPLE.
    if (provided >= MPI_THREAD_MULTIPLE) return ThreadLevel::multiple;
    if (provided >= MPI_THREAD_SERIALIZED) return ThreadLevel::serialized;
    if (provided >= MPI_THREAD_FUNNELED) return ThreadLevel::funneled;
    return ThreadLevel::single;
}

} // namespace

const char* to_string(ThreadLevel level) noexcept {
    switch (level) {
    case ThreadLevel::single:
        return "single";
    case ThreadLevel::funneled:
        return "funneled";
    case ThreadLevel::serialized:
        return "serialized";
    case ThreadLevel::multiple:
        return "multiple";
    }
    return "unknown";
}

Environment::Environment() { init(nullptr, nullptr); }

Environment::Environment(int& argc, char**& argv) { init(&argc, &argv); }

void Environment::init(int* argc, char*** argv) {
    SP_CHECK(!g_alive.exchange(true), "only one sp::mpi::Environment may exist at a time");
    try {
        if (finalized()) {
            throw MpiError("MPI_Init_thread failed: MPI was already finalized in this process "
                           "and cannot be initialised again");
        }
        int provided = MPI_THREAD_SINGLE;
        if (initialized()) {
            detail::check(MPI_Query_thread(&provided), "MPI_Query_thread", -1, 0);
        } else {
            detail::check(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided),
                          "MPI_Init_thread", -1, 0);
            owns_mpi_ = true;
        }
        thread_level_ = from_mpi(provided);
        world_ = Comm::world();
        if (thread_level_ < ThreadLevel::funneled) {
            // Strictly, SINGLE forbids any other thread in the process, and LibTorch starts some.
            log::warn("MPI provides thread level 'single' only (asked for 'multiple'); sp calls "
                      "MPI from the main thread only");
        }
    } catch (...) {
        world_ = Comm();
        if (owns_mpi_) MPI_Finalize();
        owns_mpi_ = false;
        g_alive.store(false);
        throw;
    }
}

Environment::~Environment() {
    // Our communicators must be freed while MPI still runs.
    world_ = Comm();
    if (owns_mpi_ && !finalized()) {
        const int code = MPI_Finalize();
        if (code != MPI_SUCCESS) log::error(detail::call_error("MPI_Finalize", code, -1, 0).what());
    }
    g_alive.store(false);
}

void Environment::abort(int code, const std::string& message) const noexcept {
    try {
        log::error(message + " (ending the job on every rank: MPI_Abort, exit code " +
                   std::to_string(code) + ")");
    } catch (...) {
        // Logging failed (no memory): abort all the same.
    }
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code); // MPI_Abort does not return; should an implementation's ever do, end this
                      // process at least
}

bool Environment::initialized() {
    int flag = 0;
    MPI_Initialized(&flag);
    return flag != 0;
}

bool Environment::finalized() {
    int flag = 0;
    MPI_Finalized(&flag);
    return flag != 0;
}

std::string Environment::library_version() {
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    detail::check(MPI_Get_library_version(text, &length), "MPI_Get_library_version", -1, 0);
    std::string version(text, static_cast<std::size_t>(length));
    version = version.substr(0, version.find_first_of("\r\n"));
    while (!version.empty() && (version.back() == '\0' || version.back() == ' ')) {
        version.pop_back();
    }
    return version;
}

} // namespace sp::mpi
