// mpi/ under mpiexec -n 2: topology, every collective against hand-computed results, the job-wide
// work counter, the error path, moves, threads per rank.
#include "mpi_test.hpp"

#include "sp/mpi/counter.hpp"
#include "sp/mpi/environment.hpp"
#include "sp/mpi/native.hpp"
#include "sp/mpi/threads.hpp"

#include "support/cpus.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using sp::mpi::Comm;
using sp::mpi::Op;
using sp::test::world;

class Topology : public sp::test::MpiTest {};
class Collectives : public sp::test::MpiTest {};
class Counter : public sp::test::MpiTest {};
class Errors : public sp::test::MpiTest {};
class Moves : public sp::test::MpiTest {};
class Threads : public sp::test::MpiTest {};
class Lifetime : public sp::test::MpiTest {};
class MpiHarness : public sp::test::MpiTest {};

using sp::test::allowed_cpus;

// ---- Topology: ranks are distinct and complete; node-local numbers agree with host names. ----

TEST_F(Topology, RanksAreDistinctAndComplete) {
    ASSERT_GE(world().size(), 2) << "run under mpiexec -n 2";
    EXPECT_GE(world().rank(), 0);
    EXPECT_LT(world().rank(), world().size());
    const std::vector<std::int64_t> ranks = world().allgather(world().rank());
    for (int r = 0; r < world().size(); ++r) EXPECT_EQ(ranks[static_cast<std::size_t>(r)], r);
}

// This rank's host name, as MPI_Get_processor_name reports it on Linux.
std::string host_name() {
    char host[256] = {};
    EXPECT_EQ(gethostname(host, sizeof host - 1), 0);
    return host;
}

TEST_F(Topology, LocalRankCountsRanksWithTheSameHostBefore) {
    // Rank 0 gets every rank's host name and node-local numbers, and counts by hand.
    const std::vector<std::string> names = world().gather(host_name(), 0);
    const std::vector<std::int64_t> local_ranks = world().allgather(world().local_rank());
    const std::vector<std::int64_t> local_sizes = world().allgather(world().local_size());
    if (world().rank() == 0) {
        ASSERT_EQ(names.size(), static_cast<std::size_t>(world().size()));
        for (std::size_t r = 0; r < names.size(); ++r) {
            std::int64_t before = 0;
            std::int64_t same = 0;
            for (std::size_t q = 0; q < names.size(); ++q) {
                if (names[q] != names[r]) continue;
                if (q < r) ++before;
                ++same;
            }
            EXPECT_EQ(local_ranks[r], before) << "rank " << r;
            EXPECT_EQ(local_sizes[r], same) << "rank " << r;
        }
    }

    const Comm node = world().split_node();
    EXPECT_EQ(node.rank(), world().local_rank());
    EXPECT_EQ(node.size(), world().local_size());
    EXPECT_EQ(node.local_rank(), node.rank());
    EXPECT_EQ(node.local_size(), node.size());
}

// ---- Collectives: results computed by hand from the ranks. ----

TEST_F(Collectives, GatherKeepsRankOrder) {
    // Rank 1 sends an empty string; lengths differ from rank to rank.
    auto value_of = [](int r) {
        return r == 1 ? std::string()
                      : "r" + std::to_string(r) + std::string(static_cast<std::size_t>(r) * 3, 'x');
    };
    for (int root = 0; root < world().size(); ++root) {
        const std::vector<std::string> got = world().gather(value_of(world().rank()), root);
        if (world().rank() == root) {
            ASSERT_EQ(got.size(), static_cast<std::size_t>(world().size()));
            for (int r = 0; r < world().size(); ++r)
                EXPECT_EQ(got[static_cast<std::size_t>(r)], value_of(r));
        } else {
            EXPECT_TRUE(got.empty());
        }
    }
}

TEST_F(Collectives, AllgatherInRankOrder) {
    const std::vector<std::int64_t> got = world().allgather(std::int64_t{10} * world().rank() - 7);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(world().size()));
    for (int r = 0; r < world().size(); ++r)
        EXPECT_EQ(got[static_cast<std::size_t>(r)], 10 * r - 7);
}

TEST_F(Collectives, AllreduceInt64) {
    const std::int64_t n = world().size();
    const std::int64_t r = world().rank();
    EXPECT_EQ(world().allreduce(r, Op::sum), n * (n - 1) / 2);
    EXPECT_EQ(world().allreduce(r, Op::min), 0);
    EXPECT_EQ(world().allreduce(r, Op::max), n - 1);
    // Beyond a double's 53 bits: the values travel as int64.
    const std::int64_t big = std::int64_t{1} << 60;
    EXPECT_EQ(world().allreduce(big + r, Op::sum), n * big + n * (n - 1) / 2);
    EXPECT_EQ(world().allreduce(-big * r, Op::min), -big * (n - 1));
    // Other integer types go through the same path.
    EXPECT_EQ(world().allreduce(world().rank(), Op::sum), n * (n - 1) / 2);
    EXPECT_EQ(world().allreduce(std::size_t{3}, Op::sum), 3 * n);
}

TEST_F(Collectives, LogicalAndOr) {
    EXPECT_TRUE(world().all_of(true));
    EXPECT_FALSE(world().all_of(world().rank() == 0));
    EXPECT_TRUE(world().any_of(world().rank() == world().size() - 1));
    EXPECT_FALSE(world().any_of(false));
}

TEST_F(Collectives, BarrierReturnsOnEveryRank) {
    world().barrier();
    world().barrier();
    EXPECT_EQ(world().allreduce(std::int64_t{1}, Op::sum), world().size());
}

// ---- Counter: every rank draws from one job-wide sequence; no number twice, none missed. ----

TEST_F(Counter, HandsOutEachNumberOnceAcrossRanks) {
    constexpr std::int64_t kItems = 200;
    std::vector<std::int64_t> mine;
    {
        sp::mpi::SharedCounter next(world(), /*root=*/0);
        for (std::int64_t i = next.next(); i < kItems; i = next.next()) mine.push_back(i);
    }
    // Each rank's draws rise; together they are 0 .. kItems-1 exactly once.
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    std::string text;
    for (const std::int64_t i : mine) text += std::to_string(i) + " ";
    const std::vector<std::string> all = world().gather(text, 0);
    EXPECT_EQ(world().allreduce(static_cast<std::int64_t>(mine.size()), Op::sum), kItems);
    if (world().rank() == 0) {
        std::set<std::int64_t> seen;
        for (const std::string& block : all) {
            std::stringstream in(block);
            for (std::int64_t i; in >> i;) EXPECT_TRUE(seen.insert(i).second) << i << " twice";
        }
        EXPECT_EQ(seen.size(), static_cast<std::size_t>(kItems));
        EXPECT_EQ(*seen.rbegin(), kItems - 1);
    }
}

// ---- Errors: MPI_ERRORS_RETURN on our communicator turns failures into MpiError. ----

TEST_F(Errors, InvalidRootThrowsOnEveryRankWithCallTextAndRank) {
    const int n = world().size();
    try {
        world().gather("x", /*root=*/n);
        ADD_FAILURE() << "gather to rank " << n << " did not throw";
    } catch (const sp::MpiError& e) {
        EXPECT_EQ(std::string(e.what()), "MPI_Gatherv failed on rank " +
                                             std::to_string(world().rank()) + " of " +
                                             std::to_string(n) + ": MPI_ERR_ROOT: invalid root");
        EXPECT_EQ(e.exit_code(), 1);
    }
    EXPECT_THROW(world().gather("x", -1), sp::MpiError);
    // The communicator still works.
    EXPECT_EQ(world().allreduce(std::int64_t{1}, Op::sum), n);
    EXPECT_TRUE(world().all_of(true));
}

TEST_F(Errors, WorldKeepsItsOwnErrorHandler) {
    MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
    ASSERT_EQ(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler), MPI_SUCCESS);
    EXPECT_EQ(handler, MPI_ERRORS_ARE_FATAL);
    MPI_Errhandler_free(&handler);
    ASSERT_EQ(MPI_Comm_get_errhandler(sp::mpi::native(world()), &handler), MPI_SUCCESS);
    EXPECT_EQ(handler, MPI_ERRORS_RETURN);
    MPI_Errhandler_free(&handler);
    EXPECT_NE(sp::mpi::native(world()), MPI_COMM_WORLD);
}

// ---- Moves: a moved-from Comm is null; move-assignment frees the target first. ----

TEST_F(Moves, MovesNullTheSource) {
    Comm a = world().split_node();
    const MPI_Comm handle = sp::mpi::native(a);
    EXPECT_NE(handle, sp::mpi::native(world()));
    Comm b(std::move(a));
    EXPECT_TRUE(a.is_null()); // NOLINT(bugprone-use-after-move): that is the point
    EXPECT_THROW(a.rank(), sp::InternalError);
    EXPECT_EQ(sp::mpi::native(b), handle);

    Comm c = world().split_node();
    c = std::move(b);
    EXPECT_TRUE(b.is_null()); // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(sp::mpi::native(c), handle);
    EXPECT_EQ(c.allreduce(std::int64_t{1}, Op::sum), world().local_size());
}

// ---- Threads per rank: node CPUs (union of the ranks' masks) shared among the node's ranks. ----

TEST_F(Threads, NodeCpusAreTheUnionOfTheRanksMasks) {
    const std::set<int> mine = allowed_cpus();
    ASSERT_FALSE(mine.empty());
    EXPECT_EQ(sp::mpi::available_cpus(), static_cast<int>(mine.size()));

    // Every rank's mask and host on rank 0, as text; there, the union over each rank's node.
    std::string text;
    for (int c : mine) text += std::to_string(c) + " ";
    const std::vector<std::string> masks = world().gather(text, 0);
    const std::vector<std::string> hosts = world().gather(host_name(), 0);
    const int node_cpus = sp::mpi::node_cpus(world());
    const std::vector<std::int64_t> all_node_cpus = world().allgather(node_cpus);
    if (world().rank() == 0) {
        for (std::size_t r = 0; r < masks.size(); ++r) {
            std::set<int> node;
            for (std::size_t q = 0; q < masks.size(); ++q) {
                if (hosts[q] != hosts[r]) continue;
                std::stringstream in(masks[q]);
                for (int c; in >> c;) node.insert(c);
            }
            EXPECT_EQ(all_node_cpus[r], static_cast<std::int64_t>(node.size())) << "rank " << r;
        }
    }
    EXPECT_EQ(
        sp::mpi::threads_per_rank(world()),
        std::max(1, std::min(node_cpus / world().local_size(), static_cast<int>(mine.size()))));
}

TEST_F(Threads, Arithmetic) {
    EXPECT_EQ(sp::mpi::threads_per_rank(/*node_cpus=*/2, /*node_ranks=*/2, /*process_cpus=*/1), 1);
    EXPECT_EQ(sp::mpi::threads_per_rank(64, 4, 64), 16);
    EXPECT_EQ(sp::mpi::threads_per_rank(2, 3, 2), 1);
}

// ---- Lifetime: the Environment that main made. ----

TEST_F(Lifetime, EnvironmentIsUpAndUnique) {
    EXPECT_TRUE(sp::mpi::Environment::initialized());
    EXPECT_FALSE(sp::mpi::Environment::finalized());
    int provided = MPI_THREAD_SINGLE;
    ASSERT_EQ(MPI_Query_thread(&provided), MPI_SUCCESS);
    EXPECT_GE(provided, MPI_THREAD_FUNNELED);
    EXPECT_THROW(sp::mpi::Environment second, sp::InternalError);
    EXPECT_NE(sp::mpi::Environment::library_version().find("MPI"), std::string::npos);
}

// ---- The harness itself, run only by the tests that check it (see mpi.cmake). ----

TEST_F(MpiHarness, DISABLED_FailsOnRank1Only) {
    EXPECT_NE(world().rank(), 1) << "intended failure on rank 1";
}

TEST_F(MpiHarness, DISABLED_AbortEndsTheJobWithItsCode) {
    if (world().rank() == 1) world().abort(7);
    world().barrier(); // rank 0 waits here until mpiexec ends the job
}

} // namespace
