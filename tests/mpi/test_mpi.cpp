// mpi/ under mpiexec -n 2: topology, every collective against hand-computed results, point to
// point and probes between ranks 0 and 1, the error path, dup independence, threads per rank.
#include "mpi_test.hpp"

#include "sp/mpi/environment.hpp"
#include "sp/mpi/native.hpp"
#include "sp/mpi/threads.hpp"

#include "support/cpus.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using sp::mpi::Comm;
using sp::mpi::kAnySource;
using sp::mpi::kAnyTag;
using sp::mpi::Op;
using sp::mpi::Status;
using sp::test::world;

class Topology : public sp::test::MpiTest {};
class Collectives : public sp::test::MpiTest {};
class PointToPoint : public sp::test::MpiTest {};
class Errors : public sp::test::MpiTest {};
class Dup : public sp::test::MpiTest {};
class Threads : public sp::test::MpiTest {};
class Lifetime : public sp::test::MpiTest {};
class MpiHarness : public sp::test::MpiTest {};

// A byte pattern that differs from position to position, for checking long messages.
std::string pattern(std::size_t n, int salt) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>((i * 131 + static_cast<std::size_t>(salt)) % 251);
    return s;
}

using sp::test::allowed_cpus;

// ---- Topology: ranks are distinct and complete; node-local numbers agree with host names. ----

TEST_F(Topology, RanksAreDistinctAndComplete) {
    ASSERT_GE(world().size(), 2) << "run under mpiexec -n 2";
    EXPECT_GE(world().rank(), 0);
    EXPECT_LT(world().rank(), world().size());
    const std::vector<std::int64_t> ranks = world().allgather(world().rank());
    for (int r = 0; r < world().size(); ++r) EXPECT_EQ(ranks[static_cast<std::size_t>(r)], r);
}

TEST_F(Topology, LocalRankCountsRanksWithTheSameHostBefore) {
    char host[256] = {};
    ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
    EXPECT_EQ(world().processor_name(), std::string(host));

    // Share every rank's processor name, then count by hand.
    std::vector<std::string> names = world().gather(world().processor_name(), 0);
    std::int64_t count = static_cast<std::int64_t>(names.size());
    world().broadcast(count, 0);
    names.resize(static_cast<std::size_t>(count));
    for (auto& name : names) world().broadcast(name, 0);

    const std::string mine = world().processor_name();
    int local_rank = 0;
    int local_size = 0;
    for (int r = 0; r < world().size(); ++r) {
        if (names[static_cast<std::size_t>(r)] != mine) continue;
        if (r < world().rank()) ++local_rank;
        ++local_size;
    }
    EXPECT_EQ(world().local_rank(), local_rank);
    EXPECT_EQ(world().local_size(), local_size);

    const Comm node = world().split_node();
    EXPECT_EQ(node.rank(), world().local_rank());
    EXPECT_EQ(node.size(), world().local_size());
    EXPECT_EQ(node.local_rank(), node.rank());
    EXPECT_EQ(node.local_size(), node.size());
}

// ---- Collectives: results computed by hand from the ranks. ----

TEST_F(Collectives, BroadcastStringFromEachRoot) {
    for (int root = 0; root < world().size(); ++root) {
        std::string value = world().rank() == root ? "hello from " + std::to_string(root) : "junk";
        world().broadcast(value, root);
        EXPECT_EQ(value, "hello from " + std::to_string(root));
    }
}

TEST_F(Collectives, BroadcastEmptyString) {
    std::string value = world().rank() == 0 ? "" : "not empty";
    world().broadcast(value, 0);
    EXPECT_EQ(value, "");
}

TEST_F(Collectives, BroadcastOneMegabyteString) {
    const std::string expected = pattern(std::size_t{1} << 20, 7);
    std::string value = world().rank() == 1 ? expected : "short";
    world().broadcast(value, 1);
    EXPECT_EQ(value.size(), expected.size());
    EXPECT_TRUE(value == expected);
}

struct Plain {
    std::int32_t id;
    double weight;
    char tag[8];
};

TEST_F(Collectives, BroadcastTriviallyCopyableValuesAndVectors) {
    Plain p{};
    if (world().rank() == 1) p = Plain{42, -2.5, {'s', 'p', '\0'}};
    world().broadcast(p, 1);
    EXPECT_EQ(p.id, 42);
    EXPECT_EQ(p.weight, -2.5);
    EXPECT_STREQ(p.tag, "sp");

    std::vector<std::int64_t> big;
    if (world().rank() == 0) {
        for (std::int64_t i = 0; i < 300000; ++i) big.push_back(i * i - 5);
    }
    world().broadcast(big, 0);
    ASSERT_EQ(big.size(), 300000U);
    for (std::int64_t i = 0; i < 300000; i += 997)
        EXPECT_EQ(big[static_cast<std::size_t>(i)], i * i - 5);

    std::vector<double> empty =
        world().rank() == 0 ? std::vector<double>{} : std::vector<double>{1, 2};
    world().broadcast(empty, 0);
    EXPECT_TRUE(empty.empty());
}

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

TEST_F(Collectives, AllreduceDouble) {
    const double n = world().size();
    const double x = 0.5 * (world().rank() + 1); // 0.5, 1.0, ...: exact in binary
    EXPECT_EQ(world().allreduce(x, Op::sum), 0.5 * n * (n + 1) / 2);
    EXPECT_EQ(world().allreduce(x, Op::min), 0.5);
    EXPECT_EQ(world().allreduce(x, Op::max), 0.5 * n);
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

// ---- Point to point between ranks 0 and 1 (other ranks, if any, only join the barrier). ----

TEST_F(PointToPoint, StringsBothWaysWithStatus) {
    const std::string big = pattern(std::size_t{1} << 20, 3);
    if (world().rank() == 0) {
        world().send(std::string("ping"), 1, 5);
        world().send(std::string(), 1, 6);
        Status st;
        const std::string reply = world().recv_string(kAnySource, kAnyTag, &st);
        EXPECT_EQ(st.source, 1);
        EXPECT_EQ(st.tag, 7);
        EXPECT_EQ(st.bytes, big.size());
        EXPECT_TRUE(reply == big);
    } else if (world().rank() == 1) {
        Status st;
        EXPECT_EQ(world().recv_string(0, 5, &st), "ping");
        EXPECT_EQ(st.source, 0);
        EXPECT_EQ(st.tag, 5);
        EXPECT_EQ(st.bytes, 4U);
        EXPECT_EQ(world().recv_string(0, 6, &st), "");
        EXPECT_EQ(st.bytes, 0U);
        world().send(big, 0, 7);
    }
    world().barrier();
}

TEST_F(PointToPoint, Int64MatchedByTag) {
    if (world().rank() == 0) {
        world().send(std::numeric_limits<std::int64_t>::min(), 1, 1);
        world().send(std::numeric_limits<std::int64_t>::max(), 1, 2);
    } else if (world().rank() == 1) {
        // Tag 2 first: the tag picks the message, not the order of arrival.
        Status st;
        EXPECT_EQ(world().recv_int64(0, 2, &st), std::numeric_limits<std::int64_t>::max());
        EXPECT_EQ(st.tag, 2);
        EXPECT_EQ(st.bytes, 8U);
        EXPECT_EQ(world().recv_int64(kAnySource, 1), std::numeric_limits<std::int64_t>::min());
    }
    world().barrier();
}

TEST_F(PointToPoint, IprobeReportsSourceTagAndSizeWithoutReceiving) {
    if (world().rank() == 1) {
        world().send(std::string("abcdefg"), 0, 42);
    } else if (world().rank() == 0) {
        std::optional<Status> found;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!(found = world().iprobe()) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        ASSERT_TRUE(found.has_value()) << "no message within 60 s";
        EXPECT_EQ(found->source, 1);
        EXPECT_EQ(found->tag, 42);
        EXPECT_EQ(found->bytes, 7U);
        EXPECT_FALSE(world().iprobe(1, 43).has_value());
        const std::optional<Status> again = world().iprobe(1, 42);
        ASSERT_TRUE(again.has_value()) << "iprobe must not consume the message";
        EXPECT_EQ(world().recv_string(found->source, found->tag), "abcdefg");
        EXPECT_FALSE(world().iprobe(kAnySource, 42).has_value());
    }
    world().barrier();
}

TEST_F(PointToPoint, ProbeWaitsForTheMessage) {
    if (world().rank() == 1) {
        world().send(std::int64_t{-99}, 0, 9);
    } else if (world().rank() == 0) {
        const Status st = world().probe();
        EXPECT_EQ(st.source, 1);
        EXPECT_EQ(st.tag, 9);
        EXPECT_EQ(st.bytes, sizeof(std::int64_t));
        EXPECT_EQ(world().recv_int64(st.source, st.tag), -99);
    }
    world().barrier();
}

// ---- Errors: MPI_ERRORS_RETURN on our communicator turns failures into MpiError. ----

TEST_F(Errors, SendToRankSizeThrowsWithCallTextAndRank) {
    const int n = world().size();
    try {
        world().send(std::int64_t{1}, n, 0);
        ADD_FAILURE() << "send to rank " << n << " did not throw";
    } catch (const sp::MpiError& e) {
        EXPECT_EQ(std::string(e.what()), "MPI_Send failed on rank " +
                                             std::to_string(world().rank()) + " of " +
                                             std::to_string(n) + ": MPI_ERR_RANK: invalid rank");
        EXPECT_EQ(e.exit_code(), 1);
    }
    EXPECT_THROW(world().send(std::string("x"), -5, 0), sp::MpiError);
    // The communicator still works.
    EXPECT_EQ(world().allreduce(std::int64_t{1}, Op::sum), n);
}

TEST_F(Errors, InvalidRootThrowsOnEveryRank) {
    std::string value = "x";
    try {
        world().broadcast(value, world().size());
        ADD_FAILURE() << "broadcast from rank size did not throw";
    } catch (const sp::MpiError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("MPI_Bcast failed on rank " + std::to_string(world().rank())),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("MPI_ERR_ROOT"), std::string::npos) << what;
    }
    EXPECT_THROW(world().gather("x", -1), sp::MpiError);
    EXPECT_TRUE(world().all_of(true));
}

TEST_F(Errors, ReceivingAStringAsInt64IsTruncation) {
    if (world().rank() == 1) {
        world().send(std::string(16, 'z'), 0, 11);
    } else if (world().rank() == 0) {
        try {
            world().recv_int64(1, 11);
            ADD_FAILURE() << "a 16-byte message fit in one int64";
        } catch (const sp::MpiError& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("MPI_Recv failed on rank 0 of"), std::string::npos) << what;
            EXPECT_NE(what.find("MPI_ERR_TRUNCATE"), std::string::npos) << what;
        }
        EXPECT_FALSE(world().iprobe(1, 11).has_value());
    }
    world().barrier();
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

// ---- Dup: an independent communicator; moves null the source. ----

TEST_F(Dup, MessagesDoNotCrossCommunicators) {
    Comm a = world().dup();
    Comm b = a.dup();
    EXPECT_EQ(a.rank(), world().rank());
    EXPECT_EQ(b.size(), world().size());
    EXPECT_EQ(b.local_rank(), world().local_rank());
    EXPECT_EQ(b.local_size(), world().local_size());
    EXPECT_NE(sp::mpi::native(a), sp::mpi::native(b));
    EXPECT_NE(sp::mpi::native(a), sp::mpi::native(world()));

    if (world().rank() == 0) {
        a.send(std::int64_t{7}, 1, 3);
        b.send(std::int64_t{8}, 1, 3);
    } else if (world().rank() == 1) {
        // a's message was sent first; on one communicator it would match first.
        EXPECT_EQ(b.recv_int64(0, kAnyTag), 8);
        EXPECT_FALSE(b.iprobe().has_value());
        EXPECT_EQ(a.recv_int64(0, kAnyTag), 7);
    }
    b = Comm(); // freeing b leaves a working
    EXPECT_EQ(a.allreduce(std::int64_t{2}, Op::sum), 2 * world().size());
}

TEST_F(Dup, MovesNullTheSource) {
    Comm a = world().dup();
    const MPI_Comm handle = sp::mpi::native(a);
    Comm b(std::move(a));
    EXPECT_TRUE(a.is_null()); // NOLINT(bugprone-use-after-move): that is the point
    EXPECT_THROW(a.rank(), sp::InternalError);
    EXPECT_EQ(sp::mpi::native(b), handle);

    Comm c = world().dup();
    c = std::move(b);
    EXPECT_TRUE(b.is_null()); // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(sp::mpi::native(c), handle);
    EXPECT_EQ(c.allreduce(std::int64_t{1}, Op::sum), world().size());
}

// ---- Threads per rank: node CPUs (union of the ranks' masks) shared among the node's ranks. ----

TEST_F(Threads, NodeCpusAreTheUnionOfTheRanksMasks) {
    const std::set<int> mine = allowed_cpus();
    ASSERT_FALSE(mine.empty());
    EXPECT_EQ(sp::mpi::available_cpus(), static_cast<int>(mine.size()));

    // Every rank's mask to every rank, as text; then the union over the ranks of this node.
    std::string text;
    for (int c : mine) text += std::to_string(c) + " ";
    const std::string host = world().processor_name();
    std::vector<std::string> masks = world().gather(text, 0);
    std::vector<std::string> hosts = world().gather(host, 0);
    masks.resize(static_cast<std::size_t>(world().size()));
    hosts.resize(static_cast<std::size_t>(world().size()));
    for (int r = 0; r < world().size(); ++r) {
        world().broadcast(masks[static_cast<std::size_t>(r)], 0);
        world().broadcast(hosts[static_cast<std::size_t>(r)], 0);
    }
    std::set<int> node;
    for (std::size_t r = 0; r < masks.size(); ++r) {
        if (hosts[r] != host) continue;
        std::stringstream in(masks[r]);
        for (int c; in >> c;) node.insert(c);
    }
    const int node_cpus = sp::mpi::node_cpus(world());
    EXPECT_EQ(node_cpus, static_cast<int>(node.size()));
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
