// mpi/ in one process, without mpiexec: threads-per-rank arithmetic, the affinity mask, Open MPI
// singleton init, the Environment's lifetime rules, and the one-rank behaviour of Comm and the
// work counter.
#include "sp/mpi/mpi.hpp"
#include "sp/mpi/native.hpp"

#include "support/cpus.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace {

using sp::mpi::Comm;
using sp::mpi::Environment;
using sp::mpi::Op;
using sp::mpi::ThreadLevel;

// The process-wide Environment of the tests that need MPI running: made on first use, so that the
// lifetime tests below (fresh processes) and test discovery never start MPI in this process.
const Comm& world() {
    static Environment env;
    return env.world();
}

using sp::test::allowed_cpus;

// ---- Rule: threads = max(1, min(process CPUs, node CPUs / node ranks)). ----

TEST(ThreadsPerRank, SharesNodeCpusAmongRanks) {
    struct Case {
        int node_cpus, node_ranks, process_cpus, expected;
    };
    const Case cases[] = {
        {64, 4, 64, 16}, // one job mask shared by 4 ranks
        {64, 3, 64, 21}, // rounds down
        {64, 4, 8, 8},   // each rank bound to 8 cores: no more threads than its own cores
        {2, 2, 1, 1},    // mpiexec -n 2 here: each rank bound to one core
        {2, 4, 2, 1},    // more ranks than CPUs: still one thread
        {1, 1, 1, 1},    {0, 1, 0, 1}, // nothing known: at least one
        {16, 1, 16, 16},               // singleton
    };
    for (const Case& c : cases) {
        EXPECT_EQ(sp::mpi::threads_per_rank(c.node_cpus, c.node_ranks, c.process_cpus), c.expected)
            << c.node_cpus << " CPUs, " << c.node_ranks << " ranks, " << c.process_cpus << " own";
    }
}

TEST(ThreadsPerRank, RejectsANodeWithoutRanks) {
    EXPECT_THROW(sp::mpi::threads_per_rank(8, 0, 8), sp::InternalError);
}

TEST(AvailableCpus, CountsTheAffinityMask) {
    const std::set<int> cpus = allowed_cpus();
    ASSERT_FALSE(cpus.empty());
    EXPECT_EQ(sp::mpi::available_cpus(), static_cast<int>(cpus.size()));
}

TEST(ThreadLevel, Names) {
    EXPECT_STREQ(sp::mpi::to_string(ThreadLevel::single), "single");
    EXPECT_STREQ(sp::mpi::to_string(ThreadLevel::funneled), "funneled");
    EXPECT_STREQ(sp::mpi::to_string(ThreadLevel::serialized), "serialized");
    EXPECT_STREQ(sp::mpi::to_string(ThreadLevel::multiple), "multiple");
}

TEST(NullComm, ThrowsInternalError) {
    const Comm none;
    EXPECT_TRUE(none.is_null());
    EXPECT_THROW(none.rank(), sp::InternalError);
    EXPECT_THROW(none.barrier(), sp::InternalError);
    EXPECT_THROW(sp::mpi::native(none), sp::InternalError);
}

// ---- Lifetime rules, each in a fresh process (gtest re-executes this program for each). ----
// Inside, a failed check prints itself and exits 1; the parent expects exit status 0.

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (false)

void finalizes_what_it_initialised() {
    REQUIRE(!Environment::initialized());
    REQUIRE(Environment::library_version().find("MPI") != std::string::npos);
    {
        Environment env;
        REQUIRE(env.owns_mpi());
        REQUIRE(Environment::initialized());
        REQUIRE(env.thread_level() >= ThreadLevel::funneled);
        REQUIRE(env.world().size() == 1);
    }
    REQUIRE(Environment::finalized());
    try {
        Environment again;
        REQUIRE(!"a second initialisation after MPI_Finalize did not throw");
    } catch (const sp::MpiError& e) {
        REQUIRE(std::string(e.what()).find("already finalized") != std::string::npos);
    }
    std::exit(0);
}

void adopts_mpi_initialised_elsewhere() {
    int provided = -1;
    REQUIRE(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) == MPI_SUCCESS);
    {
        Environment env;
        REQUIRE(!env.owns_mpi());
        REQUIRE(static_cast<int>(env.thread_level()) == provided);
        REQUIRE(env.world().size() == 1);
        REQUIRE(env.world().allreduce(std::int64_t{5}, Op::sum) == 5);
    }
    REQUIRE(!Environment::finalized());
    REQUIRE(MPI_Finalize() == MPI_SUCCESS);
    std::exit(0);
}

void allows_one_instance_at_a_time() {
    {
        Environment first;
        try {
            Environment second;
            REQUIRE(!"a second live Environment did not throw");
        } catch (const sp::InternalError&) {
        }
        REQUIRE(first.world().size() == 1);
        REQUIRE(!Environment::finalized());
    }
    REQUIRE(Environment::finalized());
    std::exit(0);
}

// *DeathTest suites run first, before any test here has started MPI in the parent process.
TEST(EnvironmentDeathTest, FinalizesWhatItInitialisedAndCannotRestart) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(finalizes_what_it_initialised(), ::testing::ExitedWithCode(0), "");
}

TEST(EnvironmentDeathTest, AdoptsMpiInitialisedElsewhereAndLeavesItRunning) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(adopts_mpi_initialised_elsewhere(), ::testing::ExitedWithCode(0), "");
}

TEST(EnvironmentDeathTest, AllowsOneInstanceAtATime) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(allows_one_instance_at_a_time(), ::testing::ExitedWithCode(0), "");
}

// ---- Singleton init: a plain run without mpiexec is a one-rank job. ----

TEST(Singleton, IsAOneRankJob) {
    EXPECT_EQ(world().rank(), 0);
    EXPECT_EQ(world().size(), 1);
    EXPECT_EQ(world().local_rank(), 0);
    EXPECT_EQ(world().local_size(), 1);
    int provided = MPI_THREAD_SINGLE;
    ASSERT_EQ(MPI_Query_thread(&provided), MPI_SUCCESS);
    EXPECT_GE(provided, MPI_THREAD_FUNNELED);
}

TEST(Singleton, CollectivesOnOneRankAreIdentities) {
    EXPECT_EQ(world().gather("mine", 0), std::vector<std::string>{"mine"});
    EXPECT_EQ(world().allgather(-3), std::vector<std::int64_t>{-3});
    EXPECT_EQ(world().allreduce(std::int64_t{-4}, Op::min), -4);
    EXPECT_TRUE(world().all_of(true));
    EXPECT_FALSE(world().any_of(false));
    world().barrier();
}

TEST(Singleton, ErrorNamesCallTextAndRankAndCommStillWorks) {
    try {
        world().gather("x", /*root=*/1);
        ADD_FAILURE() << "gather to root 1 of 1 did not throw";
    } catch (const sp::MpiError& e) {
        EXPECT_STREQ(e.what(), "MPI_Gatherv failed on rank 0 of 1: MPI_ERR_ROOT: invalid root");
        EXPECT_EQ(e.code(), sp::ExitCode::bug);
    }
    EXPECT_EQ(world().allreduce(std::int64_t{9}, Op::max), 9);
}

TEST(Singleton, SplitNodeAndMove) {
    Comm a = world().split_node();
    EXPECT_EQ(a.size(), 1);
    EXPECT_EQ(a.local_size(), 1);
    EXPECT_NE(sp::mpi::native(a), sp::mpi::native(world()));
    const MPI_Comm handle = sp::mpi::native(a);
    Comm b = std::move(a);
    EXPECT_TRUE(a.is_null()); // NOLINT(bugprone-use-after-move): that is the point
    EXPECT_EQ(sp::mpi::native(b), handle);
    EXPECT_EQ(b.allreduce(std::int64_t{3}, Op::sum), 3);
}

TEST(Singleton, CounterCountsFromZero) {
    sp::mpi::SharedCounter next(world(), /*root=*/0);
    for (std::int64_t i = 0; i < 5; ++i) EXPECT_EQ(next.next(), i);
}

TEST(Singleton, ThreadsPerRankIsTheAffinityMask) {
    const int cpus = static_cast<int>(allowed_cpus().size());
    EXPECT_EQ(sp::mpi::node_cpus(world()), cpus);
    EXPECT_EQ(sp::mpi::threads_per_rank(world()), cpus);
}

} // namespace
