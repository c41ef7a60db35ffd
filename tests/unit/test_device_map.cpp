// Which CUDA device a local rank uses (model/device.hpp device_for_rank, sp_sweep
// --ranks-per-gpu). The expected tables are written out by hand from the rule "ranks_per_gpu
// consecutive local ranks share a GPU; the GPUs are taken round-robin beyond that".

#include "sp/model/device.hpp"
#include "sp/util/error.hpp"
#include "support/run.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

TEST(DeviceForRank, OneRankPerGpuIsRoundRobin) {
    const std::vector<int> expected = {0, 1, 2, 0, 1, 2, 0};
    for (int r = 0; r < static_cast<int>(expected.size()); ++r)
        EXPECT_EQ(sp::device_for_rank(r, 1, 3), expected[static_cast<std::size_t>(r)]) << r;
}

TEST(DeviceForRank, ConsecutiveRanksShareAGpu) {
    // 2 GPUs, 4 ranks per GPU: 0-3 -> 0, 4-7 -> 1, 8-11 -> 0 again (12 ranks oversubscribe).
    const std::vector<int> expected = {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0};
    for (int r = 0; r < static_cast<int>(expected.size()); ++r)
        EXPECT_EQ(sp::device_for_rank(r, 4, 2), expected[static_cast<std::size_t>(r)]) << r;
}

TEST(DeviceForRank, EveryRankOnTheOneGpu) {
    for (int n : {1, 2, 4, 8})
        for (int r = 0; r < 8; ++r) EXPECT_EQ(sp::device_for_rank(r, n, 1), 0);
}

TEST(DeviceForRank, UnevenShare) {
    // 3 ranks per GPU on 4 GPUs: ranks 0-2, 3-5, 6-8, 9-11, then 12 wraps to GPU 0.
    EXPECT_EQ(sp::device_for_rank(2, 3, 4), 0);
    EXPECT_EQ(sp::device_for_rank(3, 3, 4), 1);
    EXPECT_EQ(sp::device_for_rank(8, 3, 4), 2);
    EXPECT_EQ(sp::device_for_rank(11, 3, 4), 3);
    EXPECT_EQ(sp::device_for_rank(12, 3, 4), 0);
}

TEST(DeviceForRank, UnknownLocalRankIsZero) { EXPECT_EQ(sp::device_for_rank(-1, 2, 2), 0); }

TEST(DeviceForRank, RejectsBadArguments) {
    EXPECT_THROW(sp::device_for_rank(0, 0, 1), sp::ConfigError);
    EXPECT_THROW(sp::device_for_rank(0, -3, 1), sp::ConfigError);
    EXPECT_THROW(sp::device_for_rank(0, 1, 0), sp::ConfigError);
}

TEST(SelectDevice, RejectsZeroRanksPerGpuEvenWithoutCuda) {
    EXPECT_THROW(sp::select_device(0, 0), sp::ConfigError);
}

TEST(SelectDevice, PreferCpuIgnoresTheShare) {
    const sp::DeviceInfo d = sp::select_device(5, 3, /*prefer_cpu=*/true);
    EXPECT_EQ(d.device, "cpu");
}

TEST(SweepRanksPerGpu, ZeroIsABadInput) {
    const auto r = sp::test::run({sp::test::app("sp_sweep"), "--dry-run", "--ranks-per-gpu", "0"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("--ranks-per-gpu"), std::string::npos) << r.err;
}

TEST(SweepRanksPerGpu, DocumentedInHelp) {
    const auto r = sp::test::run({sp::test::app("sp_sweep"), "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("--ranks-per-gpu"), std::string::npos) << r.out;
}

} // namespace
