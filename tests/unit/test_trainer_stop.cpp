// train/trainer: a stop at a batch boundary and the resumed epoch (bit-identical parameters,
// buffers and history against an uninterrupted run), train.eval_every (NaN on the epochs not
// evaluated, the evaluated ones equal to an evaluate-every-epoch run and to an accuracy counted
// here), and precision on the CPU (bf16 autocasts the training forward pass; evaluation and
// fp16 run fp32).
#include "sp/train/trainer.hpp"

#include "trainer_fixture.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using sp::test::identical;
using sp::test::MemorySource;

namespace {

constexpr std::int64_t kFeatures = 6;
constexpr std::int64_t kClasses = 4;
constexpr std::uint64_t kSeed = 3;
// 46 samples in batches of 8: 6 batches an epoch, the last one of 6 samples.
constexpr std::int64_t kSamples = 46;
constexpr std::int64_t kBatches = 6;

sp::TrainConfig train_config(std::int64_t epochs) {
    sp::TrainConfig tc;
    tc.optimizer = sp::Optimizer::adamw;
    tc.lr = 2e-2;
    tc.weight_decay = 1e-2;
    tc.schedule = sp::Schedule::cosine; // the rate depends on (epoch, batch)
    tc.warmup_epochs = 1;
    tc.label_smoothing = 0.1;
    tc.epochs = epochs;
    return tc;
}

/// One training setup: model, optimizer and data, from the same seeds every time.
struct Training {
    explicit Training(std::int64_t epochs, std::int64_t eval_every = 1)
        : tc(train_config(epochs)), net(sp::test::small_model(kFeatures, kClasses, kSeed)),
          opt(sp::make_optimizer(tc, net->parameters())) {
        tc.eval_every = eval_every;
    }
    sp::Trainer trainer() {
        return sp::Trainer(
            *net, [this](const torch::Tensor& x) { return net->forward(x); }, *opt, tc,
            torch::kCPU);
    }
    sp::TrainConfig tc;
    torch::nn::Sequential net;
    std::unique_ptr<torch::optim::Optimizer> opt;
    MemorySource train{kSamples, kFeatures, kClasses, 8, 21};
    MemorySource eval{20, kFeatures, kClasses, 8, 22, /*shuffle=*/false};
};

/// Every field of the records but the timings, exactly (NaN equal to NaN).
void expect_same_history(const std::vector<sp::EpochRecord>& a,
                         const std::vector<sp::EpochRecord>& b) {
    ASSERT_EQ(a.size(), b.size());
    auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].epoch, b[i].epoch);
        EXPECT_TRUE(same(a[i].loss, b[i].loss)) << i << ": " << a[i].loss << " " << b[i].loss;
        EXPECT_TRUE(same(a[i].train_accuracy, b[i].train_accuracy)) << i;
        EXPECT_TRUE(same(a[i].eval_accuracy, b[i].eval_accuracy)) << i;
    }
}

struct Reference {
    sp::TrainState state;
    std::vector<torch::Tensor> weights;
};

Reference uninterrupted(std::int64_t epochs, std::int64_t eval_every = 1) {
    Training r(epochs, eval_every);
    Reference ref;
    ref.state = r.trainer().run(r.train, r.eval, epochs, {});
    ref.weights = sp::test::snapshot(*r.net);
    return ref;
}

// --- Stop and resume ---------------------------------------------------------------------------

struct StopPoint {
    std::int64_t poll;    // the stop check says true at this poll (0-based, one per batch)
    std::int64_t epoch;   // expected state.epoch on return
    std::int64_t batches; // expected state.partial.batches on return
    std::int64_t seen;    // expected state.partial.seen
    std::size_t history;  // expected records on return
};

class StopResume : public ::testing::TestWithParam<StopPoint> {};

TEST_P(StopResume, ContinuesBitIdentically) {
    constexpr std::int64_t kEpochs = 3;
    const StopPoint p = GetParam();
    const Reference ref = uninterrupted(kEpochs);

    Training r(kEpochs);
    std::int64_t polls = 0;
    std::int64_t hooks = 0;
    const auto hook = [&](const sp::TrainState&) { return ++hooks > 0; };
    sp::TrainState s =
        r.trainer().run(r.train, r.eval, kEpochs, {}, hook, [&] { return polls++ == p.poll; });
    EXPECT_EQ(polls, p.poll + 1); // returned at the stop
    EXPECT_EQ(s.epoch, p.epoch);
    EXPECT_EQ(s.partial.batches, p.batches);
    EXPECT_EQ(s.partial.seen, p.seen);
    EXPECT_EQ(s.history.size(), p.history);
    EXPECT_EQ(hooks, static_cast<std::int64_t>(p.history)); // the hook ran for finished epochs
    EXPECT_EQ(s.step, p.poll + 1);
    if (p.batches > 0) {
        EXPECT_GT(s.partial.loss_sum, 0);
        EXPECT_GE(s.partial.correct, 0);
        EXPECT_LE(s.partial.correct, p.seen);
        EXPECT_GE(s.partial.seconds, 0);
    } else {
        EXPECT_EQ(s.partial.seen, 0);
        EXPECT_EQ(s.partial.loss_sum, 0);
    }
    // A new Trainer (as after a checkpoint) over the same model and optimizer, no stop.
    s = r.trainer().run(r.train, r.eval, kEpochs, s, hook);
    EXPECT_EQ(s.epoch, kEpochs);
    EXPECT_EQ(s.step, kEpochs * kBatches);
    EXPECT_EQ(s.partial.batches, 0);
    EXPECT_EQ(hooks, kEpochs);
    expect_same_history(s.history, ref.state.history);
    EXPECT_TRUE(identical(sp::test::snapshot(*r.net), ref.weights));
}

// Hand-worked: poll k follows batch k % 6 of epoch k / 6; a stop before an epoch's last batch
// leaves (k % 6) + 1 batches of 8 images done; a stop after the last one finishes the epoch.
INSTANTIATE_TEST_SUITE_P(
    Trainer, StopResume,
    ::testing::Values(StopPoint{0, 0, 1, 8, 0},    // after the very first batch
                      StopPoint{1, 0, 2, 16, 0},   // batch 1
                      StopPoint{4, 0, 5, 40, 0},   // the batch before the last
                      StopPoint{5, 1, 0, 0, 1},    // after epoch 0's last batch: epoch finished
                      StopPoint{8, 1, 3, 24, 1},   // mid epoch 1
                      StopPoint{12, 2, 1, 8, 2},   // first batch of the last epoch
                      StopPoint{16, 2, 5, 40, 2},  // the last epoch's second-to-last batch
                      StopPoint{17, 3, 0, 0, 3})); // the run's last batch: all done

TEST(StopResume, StopAfterEveryBatch) {
    constexpr std::int64_t kEpochs = 3;
    const Reference ref = uninterrupted(kEpochs);
    Training r(kEpochs);
    sp::TrainState s;
    int returns = 0;
    while (s.epoch < kEpochs) {
        s = r.trainer().run(r.train, r.eval, kEpochs, s, {}, [] { return true; });
        ++returns;
        ASSERT_LE(returns, kEpochs * kBatches);
    }
    EXPECT_EQ(returns, kEpochs * kBatches);
    expect_same_history(s.history, ref.state.history);
    EXPECT_TRUE(identical(sp::test::snapshot(*r.net), ref.weights));
}

TEST(StopResume, TheTestCanTellRunsApart) {
    // The comparison has teeth: one step more on one batch changes the weights.
    const Reference a = uninterrupted(2);
    const Reference b = uninterrupted(3);
    EXPECT_FALSE(identical(a.weights, b.weights));
}

TEST(StopResume, ResumesInTheLastEpochOfAHookStoppedRun) {
    // The epoch hook's stop and the batch stop together: the hook stops after epoch 0, the
    // batch stop then in epoch 1; the rest runs on.
    constexpr std::int64_t kEpochs = 3;
    const Reference ref = uninterrupted(kEpochs);
    Training r(kEpochs);
    sp::TrainState s =
        r.trainer().run(r.train, r.eval, kEpochs, {}, [](const sp::TrainState&) { return false; });
    EXPECT_EQ(s.epoch, 1);
    EXPECT_EQ(s.partial.batches, 0);
    std::int64_t polls = 0;
    s = r.trainer().run(r.train, r.eval, kEpochs, s, {}, [&] { return polls++ == 3; });
    EXPECT_EQ(s.epoch, 1);
    EXPECT_EQ(s.partial.batches, 4);
    s = r.trainer().run(r.train, r.eval, kEpochs, s);
    expect_same_history(s.history, ref.state.history);
    EXPECT_TRUE(identical(sp::test::snapshot(*r.net), ref.weights));
}

// --- eval_every --------------------------------------------------------------------------------

/// The accuracy over `eval` counted here: eval mode, fp32, argmax against the labels.
double accuracy_of(torch::nn::Sequential& net, MemorySource& eval) {
    torch::NoGradGuard no_grad;
    net->eval();
    std::int64_t right = 0;
    for (std::int64_t b = 0; b < eval.batches(); ++b) {
        const sp::Batch batch = eval.batch(0, b);
        const torch::Tensor logits = net->forward(batch.images);
        for (std::int64_t i = 0; i < logits.size(0); ++i) {
            std::int64_t best = 0;
            for (std::int64_t c = 1; c < logits.size(1); ++c)
                if (logits[i][c].item<float>() > logits[i][best].item<float>()) best = c;
            right += best == batch.labels[i].item<std::int64_t>() ? 1 : 0;
        }
    }
    return static_cast<double>(right) / static_cast<double>(eval.images());
}

TEST(EvalEvery, EvaluatesEveryNthAndTheLastEpoch) {
    // eval_every 2 over 5 epochs: evaluated after epochs 1 and 3 ((e + 1) % 2 == 0) and 4 (the
    // last); NaN after 0 and 2.
    const Reference every = uninterrupted(5, 1);
    Training r(5, 2);
    const sp::TrainState s = r.trainer().run(r.train, r.eval, 5, {});
    ASSERT_EQ(s.history.size(), 5u);
    for (std::size_t e = 0; e < 5; ++e) {
        const bool due = e == 1 || e == 3 || e == 4;
        if (due) {
            EXPECT_EQ(s.history[e].eval_accuracy, every.state.history[e].eval_accuracy) << e;
        } else {
            EXPECT_TRUE(std::isnan(s.history[e].eval_accuracy)) << e;
        }
        // Training does not depend on evaluation.
        EXPECT_EQ(s.history[e].loss, every.state.history[e].loss) << e;
    }
    EXPECT_TRUE(identical(sp::test::snapshot(*r.net), every.weights));
    EXPECT_EQ(s.history[4].eval_accuracy, accuracy_of(r.net, r.eval));
}

TEST(EvalEvery, TheLastEpochOfEachRunIsEvaluated) {
    // eval_every 3; a run to epoch 2 (its last epoch, 1, is evaluated), then on to 4 (epoch 2 is
    // due, epoch 3 the last).
    Training r(4, 3);
    sp::TrainState s = r.trainer().run(r.train, r.eval, 2, {});
    ASSERT_EQ(s.history.size(), 2u);
    EXPECT_TRUE(std::isnan(s.history[0].eval_accuracy));
    EXPECT_EQ(s.history[1].eval_accuracy, accuracy_of(r.net, r.eval));
    s = r.trainer().run(r.train, r.eval, 4, s);
    ASSERT_EQ(s.history.size(), 4u);
    EXPECT_FALSE(std::isnan(s.history[2].eval_accuracy));
    EXPECT_EQ(s.history[3].eval_accuracy, accuracy_of(r.net, r.eval));
    for (const auto& rec : s.history) {
        if (!std::isnan(rec.eval_accuracy)) {
            EXPECT_GE(rec.eval_accuracy, 0.0);
            EXPECT_LE(rec.eval_accuracy, 1.0);
        }
    }
}

// --- Precision on the CPU ----------------------------------------------------------------------

/// The dtype of the model's output, for training and for evaluation forward passes.
struct Seen {
    std::vector<torch::ScalarType> train;
    std::vector<torch::ScalarType> eval;
};

Seen dtypes_for(sp::Precision precision) {
    Training r(1);
    r.tc.precision = precision;
    Seen seen;
    sp::Trainer trainer(
        *r.net,
        [&](const torch::Tensor& x) {
            torch::Tensor out = r.net->forward(x);
            (r.net->is_training() ? seen.train : seen.eval).push_back(out.scalar_type());
            return out;
        },
        *r.opt, r.tc, torch::kCPU);
    const sp::TrainState s = trainer.run(r.train, r.eval, 1, {});
    EXPECT_TRUE(std::isfinite(s.history[0].loss));
    EXPECT_EQ(s.skipped_steps, 0);
    return seen;
}

TEST(Precision, CpuBf16AutocastsTrainingAndEvaluatesInFp32) {
    const Seen bf16 = dtypes_for(sp::Precision::bf16);
    EXPECT_EQ(bf16.train, std::vector<torch::ScalarType>(kBatches, torch::kBFloat16));
    EXPECT_EQ(bf16.eval, std::vector<torch::ScalarType>(3, torch::kFloat32));
    // Autocast is off again after the run.
    EXPECT_EQ(torch::nn::Linear(2, 2)->forward(torch::ones({1, 2})).scalar_type(), torch::kFloat32);
}

TEST(Precision, CpuFp16AndFp32TrainInFp32) {
    for (const sp::Precision p : {sp::Precision::fp16, sp::Precision::fp32}) {
        const Seen s = dtypes_for(p);
        EXPECT_EQ(s.train, std::vector<torch::ScalarType>(kBatches, torch::kFloat32));
        EXPECT_EQ(s.eval, std::vector<torch::ScalarType>(3, torch::kFloat32));
    }
}

} // namespace
