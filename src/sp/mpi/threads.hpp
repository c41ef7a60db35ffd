#pragma once
/// How many LibTorch threads each rank should run: the node's CPUs shared out among the ranks on
/// the node, never more than the CPUs this rank may run on, and at least one.
///
///     sp::set_torch_threads(sp::mpi::threads_per_rank(env.world()));   // collective

#include "sp/mpi/comm.hpp"

namespace sp::mpi {

/// The CPUs this process may run on: the size of its affinity mask (sched_getaffinity, what Slurm
/// and mpiexec's binding set), else std::thread::hardware_concurrency(); at least 1.
int available_cpus();

/// The CPUs of this node that its ranks in `comm` may run on: the union of their affinity masks.
/// When each rank is bound to its own cores this counts them all; when all share the job's mask it
/// counts that mask once. Falls back to the largest available_cpus() where no mask is available.
/// \note collective
int node_cpus(const Comm& comm);

/// max(1, min(process_cpus, node_cpus / node_ranks)). Throws InternalError if node_ranks < 1.
int threads_per_rank(int node_cpus, int node_ranks, int process_cpus);

/// threads_per_rank(node_cpus(comm), comm.local_size(), available_cpus()).
/// \note collective
int threads_per_rank(const Comm& comm);

} // namespace sp::mpi
