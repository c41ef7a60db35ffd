// The job-wide work counter under mpiexec -n 2, in each mode: every number once, and (issue 17)
// no rank's draws wait on a root that computes outside MPI. tests/mpi/CMakeLists.txt also runs
// these over Open MPI's TCP transport (btl self,tcp; pml ob1): the server mode with
// MPI_THREAD_MULTIPLE, and, at thread level funneled, the window mode with one-sided operations
// emulated by messages (osc pt2pt, which Open MPI 4.1 refuses under MPI_THREAD_MULTIPLE), where
// a draw waits for the busy root.
#include "mpi_test.hpp"

#include "sp/mpi/counter.hpp"
#include "sp/mpi/native.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using sp::mpi::CounterMode;
using sp::mpi::Op;
using sp::mpi::SharedCounter;
using sp::test::world;
using Clock = std::chrono::steady_clock;

class CounterDraws : public sp::test::MpiTest {};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Root's `text` on every rank.
std::string broadcast(std::string text, int root) {
    const MPI_Comm comm = sp::mpi::native(world());
    auto size = static_cast<std::int64_t>(text.size());
    EXPECT_EQ(MPI_Bcast(&size, 1, MPI_INT64_T, root, comm), MPI_SUCCESS);
    text.resize(static_cast<std::size_t>(size));
    EXPECT_EQ(MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, root, comm), MPI_SUCCESS);
    return text;
}

// Checks on rank 0 that the ranks' numbers are 0 .. items-1, each once. Collective.
void expect_each_number_once(const std::vector<std::int64_t>& mine, std::int64_t items) {
    std::string text;
    for (const std::int64_t i : mine) text += std::to_string(i) + " ";
    const std::vector<std::string> all = world().gather(text, 0);
    EXPECT_EQ(world().allreduce(static_cast<std::int64_t>(mine.size()), Op::sum), items);
    if (world().rank() != 0) return;
    std::set<std::int64_t> seen;
    for (const std::string& block : all) {
        std::stringstream in(block);
        for (std::int64_t i; in >> i;) EXPECT_TRUE(seen.insert(i).second) << i << " twice";
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(items));
    if (!seen.empty()) {
        EXPECT_EQ(*seen.begin(), 0);
        EXPECT_EQ(*seen.rbegin(), items - 1);
    }
}

// Every rank draws until the numbers run out; each rank's draws rise and together they are
// 0 .. items-1 once.
void draw_all(CounterMode mode, int root) {
    constexpr std::int64_t kItems = 300;
    std::vector<std::int64_t> mine;
    {
        SharedCounter next(world(), root, mode);
        for (std::int64_t i = next.next(); i < kItems; i = next.next()) mine.push_back(i);
        // Past the end, the counter goes on counting.
        EXPECT_GE(next.next(), kItems);
    }
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    expect_each_number_once(mine, kItems);
}

TEST_F(CounterDraws, ServerHandsOutEachNumberOnce) {
    draw_all(CounterMode::server, /*root=*/0);
    draw_all(CounterMode::server, /*root=*/world().size() - 1);
}

TEST_F(CounterDraws, WindowHandsOutEachNumberOnce) {
    draw_all(CounterMode::window, /*root=*/0);
    draw_all(CounterMode::window, /*root=*/world().size() - 1);
}

// With MPI_THREAD_MULTIPLE (what the Environment asks for) the server; with less (a test run with
// SP_TEST_MPI_THREAD_LEVEL, see mpi_test_main.cpp) the window.
TEST_F(CounterDraws, AutomaticIsTheServerWithThreadMultipleElseTheWindow) {
    int provided = MPI_THREAD_SINGLE;
    ASSERT_EQ(MPI_Query_thread(&provided), MPI_SUCCESS);
    const char* level = std::getenv("SP_TEST_MPI_THREAD_LEVEL");
    if (level == nullptr || *level == '\0') {
        EXPECT_EQ(provided, MPI_THREAD_MULTIPLE) << "Environment asks for MPI_THREAD_MULTIPLE";
    } else {
        EXPECT_LT(provided, MPI_THREAD_MULTIPLE) << "SP_TEST_MPI_THREAD_LEVEL=" << level;
        EXPECT_THROW(SharedCounter(world(), 0, CounterMode::server), sp::MpiError);
    }
    const SharedCounter next(world(), /*root=*/0);
    EXPECT_EQ(next.mode(),
              provided == MPI_THREAD_MULTIPLE ? CounterMode::server : CounterMode::window);
}

TEST_F(CounterDraws, DisagreeingModesOrABadRootAreRefusedOnEveryRank) {
    const CounterMode mode = world().rank() == 0 ? CounterMode::server : CounterMode::window;
    EXPECT_THROW(SharedCounter(world(), 0, mode), sp::InternalError);
    EXPECT_THROW(SharedCounter(world(), world().size(), CounterMode::server), sp::InternalError);
}

// What a run with a busy root saw, on this rank.
struct BusyRootRun {
    std::vector<std::int64_t> mine;   // the numbers below `items` this rank drew
    bool others_finished = false;     // rank 0: every other rank reported all its draws done
                                      // while rank 0 was still in its busy period
    double busy_seconds = 0;          // rank 0: how long it stayed out of MPI
    std::vector<double> draw_seconds; // ranks > 0: how long each draw took
};

// Rank 0 draws its first number, then stays out of MPI (sleeping, as a replicate computes) until
// every other rank reports through a file that it has drawn past the end, or until `patience`
// runs out; then it draws on. The other ranks start drawing once rank 0 has its number (a file
// too), and draw with no work in between. Files, not MPI, carry these signals: rank 0 must not
// enter MPI while busy. Every rank on one node (mpiexec -n 2 on the test machine).
BusyRootRun busy_root_run(CounterMode mode, std::int64_t items, std::chrono::seconds patience) {
    std::optional<sp::test::TempDir> dir;
    if (world().rank() == 0) dir.emplace("sp-counter");
    const std::filesystem::path path = broadcast(dir ? dir->path() : std::string(), 0);
    const std::filesystem::path started = path / "started";
    auto finished = [&](int rank) { return path / ("finished-" + std::to_string(rank)); };
    auto all_finished = [&] {
        for (int r = 1; r < world().size(); ++r) {
            if (!std::filesystem::exists(finished(r))) return false;
        }
        return true;
    };
    auto touch = [](const std::filesystem::path& file) { std::ofstream(file).put('\n'); };
    constexpr std::chrono::milliseconds kPoll{5};

    BusyRootRun run;
    {
        SharedCounter next(world(), /*root=*/0, mode);
        std::int64_t i = 0;
        if (world().rank() == 0) {
            i = next.next();
            if (i < items) run.mine.push_back(i);
            touch(started);
            const Clock::time_point busy = Clock::now();
            while (!all_finished() && Clock::now() - busy < patience) {
                std::this_thread::sleep_for(kPoll);
            }
            run.others_finished = all_finished();
            run.busy_seconds = seconds_since(busy);
            for (i = next.next(); i < items; i = next.next()) run.mine.push_back(i);
        } else {
            const Clock::time_point wait = Clock::now();
            while (!std::filesystem::exists(started) && Clock::now() - wait < patience) {
                std::this_thread::sleep_for(kPoll);
            }
            EXPECT_TRUE(std::filesystem::exists(started)) << "rank 0 never drew";
            for (;;) {
                const Clock::time_point draw = Clock::now();
                i = next.next();
                run.draw_seconds.push_back(seconds_since(draw));
                if (i >= items) break;
                run.mine.push_back(i);
            }
            touch(finished(world().rank()));
        }
    }
    // The numbers, for the record (ctest --output-on-failure / -V shows them).
    if (world().rank() == 0) {
        std::printf("[counter %s] rank 0 stayed out of MPI for %.3f s; the others %s\n",
                    sp::mpi::to_string(mode), run.busy_seconds,
                    run.others_finished ? "finished drawing meanwhile" : "did not finish");
    } else {
        const auto& d = run.draw_seconds;
        double total = 0;
        for (const double s : d) total += s;
        std::printf("[counter %s] rank %d: %zu draws, first %.4f s, longest %.4f s, mean %.4f s\n",
                    sp::mpi::to_string(mode), world().rank(), d.size(), d.empty() ? 0.0 : d[0],
                    d.empty() ? 0.0 : *std::max_element(d.begin(), d.end()),
                    d.empty() ? 0.0 : total / static_cast<double>(d.size()));
    }
    std::fflush(stdout);
    world().barrier(); // rank 0's directory goes only when every rank is done with it
    return run;
}

// The guarantee of issue 17: a root that computes (here: sleeps) outside MPI does not hold up
// the other ranks' draws. Structural, not a time bound: the other ranks must draw every
// remaining number before rank 0 leaves its busy period, however slowly the machine runs them
// (rank 0 waits up to 30 s for them, where they need milliseconds).
TEST_F(CounterDraws, OtherRanksDrawEverythingWhileTheRootComputes) {
    constexpr std::int64_t kItems = 40;
    const BusyRootRun run = busy_root_run(CounterMode::automatic, kItems, std::chrono::seconds(30));
    if (world().rank() == 0) {
        EXPECT_TRUE(run.others_finished)
            << "the other ranks could not draw every number while rank 0 was out of MPI for "
            << run.busy_seconds << " s";
        EXPECT_EQ(run.mine, std::vector<std::int64_t>{0}) << "rank 0 drew only its first number";
    }
    expect_each_number_once(run.mine, kItems);
}

// The reason for the server (run only over TCP with osc pt2pt, by its own CTest test): there the
// window's fetch-and-add is emulated with messages that the busy root answers only when it next
// enters MPI, so the other ranks cannot finish while it is busy. Every number still goes once.
TEST_F(CounterDraws, DISABLED_WindowWaitsForABusyRootOverEmulatedAtomics) {
    constexpr std::int64_t kItems = 10;
    const BusyRootRun run = busy_root_run(CounterMode::window, kItems, std::chrono::seconds(4));
    if (world().rank() == 0) {
        EXPECT_FALSE(run.others_finished)
            << "the window's draws did not wait for the busy root: is osc pt2pt in use?";
    }
    expect_each_number_once(run.mine, kItems);
}

} // namespace
