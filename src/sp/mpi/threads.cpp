#include "sp/mpi/threads.hpp"

#include "sp/mpi/native.hpp"

#include <algorithm>
#include <bitset>
#include <cerrno>
#include <cstdint>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sched.h>
#endif

namespace sp::mpi {
namespace {

// This process's affinity mask as 64-bit words (bit i of the whole = CPU i); empty if unknown.
std::vector<std::uint64_t> affinity_words() {
#ifdef __linux__
    // cpu_set_t holds 1024 CPUs; the kernel refuses (EINVAL) a mask smaller than its own, so grow.
    for (int cpus = 1024; cpus <= (1 << 20); cpus *= 2) {
        cpu_set_t* set = CPU_ALLOC(cpus);
        if (set == nullptr) return {};
        const std::size_t bytes = CPU_ALLOC_SIZE(cpus);
        CPU_ZERO_S(bytes, set);
        if (sched_getaffinity(0, bytes, set) == 0) {
            std::vector<std::uint64_t> words(static_cast<std::size_t>(cpus) / 64);
            for (int cpu = 0; cpu < cpus; ++cpu) {
                if (CPU_ISSET_S(cpu, bytes, set)) {
                    words[static_cast<std::size_t>(cpu) / 64] |= std::uint64_t{1} << (cpu % 64);
                }
            }
            CPU_FREE(set);
            while (!words.empty() && words.back() == 0) words.pop_back();
            return words;
        }
        const int error = errno;
        CPU_FREE(set);
        if (error != EINVAL) return {};
    }
#endif
    return {};
}

int count_bits(const std::vector<std::uint64_t>& words) {
    std::size_t count = 0;
    for (std::uint64_t word : words) count += std::bitset<64>(word).count();
    return static_cast<int>(count);
}

int hardware_cpus() {
    const unsigned cpus = std::thread::hardware_concurrency();
    return cpus > 0 ? static_cast<int>(cpus) : 1;
}

} // namespace

int available_cpus() {
    const int cpus = count_bits(affinity_words());
    return cpus > 0 ? cpus : hardware_cpus();
}

int node_cpus(const Comm& comm) {
    const Comm node = comm.split_node();
    std::vector<std::uint64_t> words = affinity_words();
    if (!node.all_of(count_bits(words) > 0)) {
        return std::max(1, static_cast<int>(node.allreduce(available_cpus(), Op::max)));
    }
    // MPI_BOR needs equally long buffers on every rank: pad to the longest mask.
    const auto longest = node.allreduce(static_cast<std::int64_t>(words.size()), Op::max);
    words.resize(static_cast<std::size_t>(longest), 0);
    detail::check(MPI_Allreduce(MPI_IN_PLACE, words.data(), static_cast<int>(longest), MPI_UINT64_T,
                                MPI_BOR, native(node)),
                  "MPI_Allreduce", comm);
    return std::max(1, count_bits(words));
}

int threads_per_rank(int node_cpus, int node_ranks, int process_cpus) {
    SP_CHECK(node_ranks >= 1, "threads_per_rank: a node has at least one rank");
    return std::max(1, std::min(node_cpus / node_ranks, process_cpus));
}

int threads_per_rank(const Comm& comm) {
    return threads_per_rank(node_cpus(comm), comm.local_size(), available_cpus());
}

} // namespace sp::mpi
