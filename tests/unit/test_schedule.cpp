// train/schedule: learning rates against hand-computed values (PyTorch's schedulers are the
// oracle in tests/oracle/test_schedule_oracle.cpp).
#include "sp/train/schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace {

sp::TrainConfig config(sp::Schedule schedule, std::int64_t warmup = 0) {
    sp::TrainConfig c;
    c.lr = 0.1;
    c.schedule = schedule;
    c.warmup_epochs = warmup;
    c.step_size = 3;
    c.gamma = 0.5;
    return c;
}

TEST(Schedule, ConstantIsConstant) {
    const auto c = config(sp::Schedule::constant);
    for (int e = 0; e < 5; ++e) EXPECT_DOUBLE_EQ(sp::learning_rate(c, 5, e, 7, 10), 0.1);
}

TEST(Schedule, StepHalvesEveryThreeEpochs) {
    const auto c = config(sp::Schedule::step);
    EXPECT_DOUBLE_EQ(sp::learning_rate(c, 10, 0, 0, 4), 0.1);
    EXPECT_DOUBLE_EQ(sp::learning_rate(c, 10, 2, 3, 4), 0.1);
    EXPECT_DOUBLE_EQ(sp::learning_rate(c, 10, 3, 0, 4), 0.05);
    EXPECT_DOUBLE_EQ(sp::learning_rate(c, 10, 6, 1, 4), 0.025);
}

TEST(Schedule, CosineHandValues) {
    const auto c = config(sp::Schedule::cosine);
    EXPECT_DOUBLE_EQ(sp::learning_rate(c, 4, 0, 0, 2), 0.1);
    // t = 2 of 4 epochs: (1 + cos(pi/2)) / 2 = 0.5; t = 1.5: (1 + cos(3pi/8)) / 2.
    EXPECT_NEAR(sp::learning_rate(c, 4, 2, 0, 2), 0.05, 1e-15);
    EXPECT_NEAR(sp::learning_rate(c, 4, 1, 1, 2), 0.1 * (1 + std::cos(3 * M_PI / 8)) / 2, 1e-15);
}

TEST(Schedule, WarmupRisesLinearlyByStepThenHandsOver) {
    const auto c = config(sp::Schedule::cosine, /*warmup=*/2);
    // 4 steps an epoch: t = 0, 0.25, ...; lr = 0.1 * (t + 0.25) / 2.
    EXPECT_NEAR(sp::learning_rate(c, 6, 0, 0, 4), 0.1 * 0.25 / 2, 1e-15);
    EXPECT_NEAR(sp::learning_rate(c, 6, 1, 3, 4), 0.1 * 2.0 / 2, 1e-15);
    EXPECT_NEAR(sp::learning_rate(c, 6, 2, 0, 4), 0.1, 1e-15) << "cosine starts at the full rate";
    EXPECT_NEAR(sp::learning_rate(c, 6, 4, 0, 4), 0.05, 1e-15) << "halfway through 4 cosine epochs";
}

} // namespace
