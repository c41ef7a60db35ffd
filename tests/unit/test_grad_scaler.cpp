// train/grad_scaler and the Trainer's loss scaling: PyTorch's GradScaler rules (backoff on a
// non-finite step, growth after growth_interval finite ones) against hand-computed scale
// sequences; on the CPU, with non-finite gradients and losses injected at chosen steps, the
// skipped steps leave the weights alone, and the scaled model ends bit-identical to a twin trained
// in plain fp32 without a scaler that skips the same batches (power-of-two scales are exact).
#include "sp/train/grad_scaler.hpp"
#include "sp/train/schedule.hpp"
#include "sp/train/trainer.hpp"
#include "sp/util/error.hpp"

#include "trainer_fixture.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using sp::GradScaler;
using sp::GradScalerOptions;
using sp::test::identical;
using sp::test::MemorySource;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

GradScalerOptions small_options() {
    GradScalerOptions o;
    o.init_scale = 1024;
    o.growth_factor = 2;
    o.backoff_factor = 0.5;
    o.growth_interval = 3;
    return o;
}

// --- GradScaler alone --------------------------------------------------------------------------

TEST(GradScaler, DefaultsAreTorchs) {
    GradScaler s;
    EXPECT_EQ(s.scale(), 65536.0);
    EXPECT_EQ(s.growth_tracker(), 0);
    for (int i = 0; i < 1999; ++i) s.update(false);
    EXPECT_EQ(s.scale(), 65536.0);
    EXPECT_EQ(s.growth_tracker(), 1999);
    s.update(false); // the 2000th finite step doubles it
    EXPECT_EQ(s.scale(), 131072.0);
    EXPECT_EQ(s.growth_tracker(), 0);
    s.update(true);
    EXPECT_EQ(s.scale(), 65536.0);
    EXPECT_EQ(s.growth_tracker(), 0);
}

TEST(GradScaler, HandComputedSequence) {
    GradScaler s(small_options());
    // found_non_finite per step, and (scale, tracker) after it, worked out by hand:
    // a skip halves and restarts the count; the 3rd finite step in a row doubles and restarts.
    const std::vector<std::tuple<bool, double, std::int64_t>> steps = {
        {false, 1024, 1}, {true, 512, 0},  {true, 256, 0},  {false, 256, 1}, {false, 256, 2},
        {false, 512, 0},  {false, 512, 1}, {true, 256, 0},  {false, 256, 1}, {false, 256, 2},
        {true, 128, 0},   {false, 128, 1}, {false, 128, 2}, {false, 256, 0}, {false, 256, 1},
        {false, 256, 2},  {false, 512, 0},
    };
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto [skip, scale, tracker] = steps[i];
        s.update(skip);
        EXPECT_EQ(s.scale(), scale) << "after step " << i;
        EXPECT_EQ(s.growth_tracker(), tracker) << "after step " << i;
    }
}

TEST(GradScaler, ScaleIsAFloat32AndGrowsOnlyToFiniteValues) {
    GradScalerOptions o;
    o.init_scale = 0.1;
    EXPECT_EQ(GradScaler(o).scale(), static_cast<double>(0.1f));
    o.init_scale = 1.0;
    o.backoff_factor = 0.3;
    GradScaler b(o);
    b.update(true);
    EXPECT_EQ(b.scale(), static_cast<double>(0.3f));
    // 2^127 * 2 overflows float32: the scale stays, the count restarts (as torch does).
    o.init_scale = std::ldexp(1.0, 127);
    o.growth_interval = 1;
    GradScaler g(o);
    g.update(false);
    EXPECT_EQ(g.scale(), std::ldexp(1.0, 127));
    EXPECT_EQ(g.growth_tracker(), 0);
}

TEST(GradScaler, SetStateRestoresBoth) {
    GradScaler s(small_options());
    s.set_state(64, 2);
    EXPECT_EQ(s.scale(), 64);
    EXPECT_EQ(s.growth_tracker(), 2);
    s.update(false);
    EXPECT_EQ(s.scale(), 128);
    EXPECT_EQ(s.growth_tracker(), 0);
}

TEST(GradScaler, ScaleLossMultiplies) {
    GradScaler s(small_options());
    const torch::Tensor l = torch::tensor({0.75f});
    EXPECT_EQ(s.scale_loss(l).item<float>(), 768.0f);
}

TEST(GradScaler, UnscaleDividesAndFindsNonFiniteValues) {
    GradScaler s(small_options());
    torch::Tensor a = torch::zeros({2}, torch::requires_grad());
    torch::Tensor b = torch::zeros({3}, torch::requires_grad());
    torch::Tensor unused = torch::zeros({1}, torch::requires_grad()); // no gradient at all
    a.mutable_grad() = torch::tensor({2048.0f, -1024.0f});
    b.mutable_grad() = torch::tensor({1.0f, 0.0f, 512.0f});
    EXPECT_TRUE(s.unscale({a, b, unused}));
    EXPECT_EQ(a.grad()[0].item<float>(), 2.0f);
    EXPECT_EQ(a.grad()[1].item<float>(), -1.0f);
    EXPECT_EQ(b.grad()[0].item<float>(), 1.0f / 1024);
    EXPECT_EQ(b.grad()[2].item<float>(), 0.5f);
    for (const float bad :
         {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
          std::numeric_limits<float>::quiet_NaN()}) {
        b.mutable_grad() = torch::tensor({1.0f, bad, 512.0f});
        EXPECT_FALSE(s.unscale({a, b})) << bad;
    }
}

TEST(GradScaler, StepSkipsTheOptimizerOnNonFiniteGradients) {
    torch::Tensor w = torch::tensor({1.0f, 2.0f}).requires_grad_();
    torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.5).momentum(0.9));
    GradScaler s(small_options());
    w.mutable_grad() = torch::tensor({1024.0f, std::numeric_limits<float>::infinity()});
    EXPECT_FALSE(s.step(opt, {w}));
    EXPECT_EQ(w[0].item<float>(), 1.0f);
    EXPECT_EQ(w[1].item<float>(), 2.0f);
    EXPECT_TRUE(opt.state().empty()); // no momentum buffer: the optimizer never ran
    EXPECT_EQ(s.scale(), 512);
    // Finite: the gradient / 512 is (1, -2); SGD's first step with momentum is w -= lr * g.
    w.mutable_grad() = torch::tensor({512.0f, -1024.0f});
    EXPECT_TRUE(s.step(opt, {w}));
    EXPECT_EQ(w[0].item<float>(), 0.5f);
    EXPECT_EQ(w[1].item<float>(), 3.0f);
    EXPECT_EQ(s.scale(), 512);
    EXPECT_EQ(s.growth_tracker(), 1);
}

TEST(GradScaler, CollapsedBelowTheFloor) {
    GradScalerOptions o;
    o.init_scale = 4;
    o.min_scale = 1;
    GradScaler s(o);
    s.update(true);
    EXPECT_FALSE(s.collapsed()); // 2
    s.update(true);
    EXPECT_FALSE(s.collapsed()); // 1, at the floor
    s.update(true);
    EXPECT_TRUE(s.collapsed()); // 0.5
    EXPECT_EQ(GradScalerOptions{}.min_scale, std::ldexp(1.0, -24));
}

TEST(GradScaler, BadOptionsAreBugs) {
    for (auto change : std::vector<void (*)(GradScalerOptions&)>{
             [](GradScalerOptions& o) { o.init_scale = 0; },
             [](GradScalerOptions& o) { o.init_scale = kInf; },
             [](GradScalerOptions& o) { o.growth_factor = 1; },
             [](GradScalerOptions& o) { o.backoff_factor = 1; },
             [](GradScalerOptions& o) { o.backoff_factor = 0; },
             [](GradScalerOptions& o) { o.growth_interval = 0; }}) {
        GradScalerOptions o;
        change(o);
        EXPECT_THROW(GradScaler{o}, sp::InternalError);
    }
}

// --- The Trainer with loss scaling on the CPU --------------------------------------------------

constexpr std::int64_t kFeatures = 6;
constexpr std::int64_t kClasses = 3;
constexpr std::int64_t kEpochs = 3;
constexpr std::uint64_t kSeed = 7;

sp::TrainConfig train_config() {
    sp::TrainConfig tc;
    tc.optimizer = sp::Optimizer::adam;
    tc.lr = 1e-2;
    tc.schedule = sp::Schedule::cosine;
    tc.warmup_epochs = 1;
    tc.epochs = kEpochs;
    tc.precision = sp::Precision::fp32;
    return tc;
}

/// Training steps (0-based over the whole run, counted by training forward passes) whose
/// gradients, or whose loss, are made non-finite.
struct Injection {
    std::set<std::int64_t> gradient;
    std::set<std::int64_t> loss;
    std::int64_t calls = 0;
};

sp::Trainer::Forward injecting(torch::nn::Sequential& net, Injection& inj) {
    return [&net, &inj](const torch::Tensor& x) {
        torch::Tensor out = net->forward(x);
        if (!net->is_training()) return out;
        const std::int64_t k = inj.calls++;
        if (inj.gradient.count(k) > 0) out.register_hook([](torch::Tensor g) { return g * kInf; });
        if (inj.loss.count(k) > 0) out = out * kInf;
        return out;
    };
}

/// 40 samples in batches of 8: 5 steps an epoch, 15 in all.
struct Data {
    MemorySource train{40, kFeatures, kClasses, 8, 11};
    MemorySource eval{16, kFeatures, kClasses, 8, 12, /*shuffle=*/false};
};

/// The oracle: plain fp32 training with no scaler, which runs the forward pass of every batch
/// (batch norm's statistics and dropout's random stream move as in the scaled run) and skips
/// backward and the optimizer step on the `skipped` steps.
std::vector<torch::Tensor> plain_twin(const std::set<std::int64_t>& skipped) {
    Data d;
    torch::nn::Sequential net = sp::test::small_model(kFeatures, kClasses, kSeed);
    const sp::TrainConfig tc = train_config();
    auto opt = sp::make_optimizer(tc, net->parameters());
    std::int64_t k = 0;
    const std::int64_t steps = d.train.batches();
    for (std::int64_t e = 0; e < kEpochs; ++e) {
        for (std::int64_t b = 0; b < steps; ++b, ++k) {
            net->train();
            sp::set_learning_rate(*opt, sp::learning_rate(tc, kEpochs, e, b, steps));
            const sp::Batch batch = d.train.batch(e, b);
            opt->zero_grad();
            const torch::Tensor loss =
                torch::nn::functional::cross_entropy(net->forward(batch.images), batch.labels);
            if (skipped.count(k) > 0) continue;
            loss.backward();
            opt->step();
        }
    }
    return sp::test::parameters_of(*net);
}

/// Hand-computed from small_options() (init 1024, x2 after 3 finite steps in a row, x0.5 on a
/// skip) for non-finite gradients at steps 1, 2, 7 and a non-finite loss at step 11: the scale
/// after each of the 15 steps, and the finite-step count.
const std::vector<double> kScales = {1024, 512, 256, 256, 256, 512, 512, 256,
                                     256,  256, 512, 256, 256, 256, 512};
const std::vector<std::int64_t> kTrackers = {1, 0, 0, 1, 2, 0, 1, 0, 1, 2, 0, 0, 1, 2, 0};
const std::set<std::int64_t> kSkipped = {1, 2, 7, 11};

Injection the_injection() {
    Injection inj;
    inj.gradient = {1, 2, 7};
    inj.loss = {11};
    return inj;
}

TEST(ScaledTraining, SkipsTheInjectedStepsAndMatchesAPlainTwin) {
    Data d;
    torch::nn::Sequential net = sp::test::small_model(kFeatures, kClasses, kSeed);
    const sp::TrainConfig tc = train_config();
    auto opt = sp::make_optimizer(tc, net->parameters());
    Injection inj = the_injection();
    sp::Trainer trainer(*net, injecting(net, inj), *opt, tc, torch::kCPU);
    trainer.enable_loss_scaling(small_options());
    std::vector<std::tuple<double, std::int64_t, std::int64_t>> at_epoch_end;
    const sp::TrainState s =
        trainer.run(d.train, d.eval, kEpochs, {}, [&](const sp::TrainState& st) {
            at_epoch_end.emplace_back(st.loss_scale, st.scale_good_steps, st.skipped_steps);
            return true;
        });
    EXPECT_EQ(inj.calls, 15);
    EXPECT_EQ(s.step, 15); // skipped steps count as steps
    EXPECT_EQ(s.skipped_steps, 4);
    EXPECT_EQ(s.loss_scale, 512);
    EXPECT_EQ(s.scale_good_steps, 0);
    // After steps 4, 9 and 14; skips so far 2, 3, 4.
    using T = std::tuple<double, std::int64_t, std::int64_t>;
    EXPECT_EQ(at_epoch_end, (std::vector<T>{T{256, 2, 2}, T{256, 2, 3}, T{512, 0, 4}}));
    // The non-finite loss of step 11 (epoch 2) enters the epoch's loss; the others are finite.
    ASSERT_EQ(s.history.size(), 3u);
    EXPECT_TRUE(std::isfinite(s.history[0].loss));
    EXPECT_TRUE(std::isfinite(s.history[1].loss));
    EXPECT_FALSE(std::isfinite(s.history[2].loss));
    EXPECT_TRUE(identical(sp::test::parameters_of(*net), plain_twin(kSkipped)));
    // and the twin is no twin of a run that skipped nothing (the test can fail).
    EXPECT_FALSE(identical(sp::test::parameters_of(*net), plain_twin({})));
}

TEST(ScaledTraining, ScaleSequenceStepByStepAndSkippedStepsLeaveTheWeights) {
    Data d;
    torch::nn::Sequential net = sp::test::small_model(kFeatures, kClasses, kSeed);
    const sp::TrainConfig tc = train_config();
    auto opt = sp::make_optimizer(tc, net->parameters());
    Injection inj = the_injection();
    // A stop after every batch: run() returns after each step with the state as it stands.
    sp::TrainState s;
    std::vector<torch::Tensor> before = sp::test::parameters_of(*net);
    for (std::size_t k = 0; k < kScales.size(); ++k) {
        sp::Trainer trainer(*net, injecting(net, inj), *opt, tc, torch::kCPU);
        trainer.enable_loss_scaling(small_options());
        s = trainer.run(d.train, d.eval, kEpochs, s, {}, [] { return true; });
        EXPECT_EQ(s.step, static_cast<std::int64_t>(k) + 1);
        EXPECT_EQ(s.loss_scale, kScales[k]) << "after step " << k;
        EXPECT_EQ(s.scale_good_steps, kTrackers[k]) << "after step " << k;
        std::int64_t skipped = 0;
        for (auto i : kSkipped) skipped += i <= static_cast<std::int64_t>(k) ? 1 : 0;
        EXPECT_EQ(s.skipped_steps, skipped) << "after step " << k;
        const std::vector<torch::Tensor> after = sp::test::parameters_of(*net);
        EXPECT_EQ(identical(before, after), kSkipped.count(static_cast<std::int64_t>(k)) > 0)
            << "step " << k;
        before = after;
    }
    EXPECT_EQ(s.epoch, kEpochs);
    EXPECT_TRUE(identical(sp::test::parameters_of(*net), plain_twin(kSkipped)));
}

TEST(ScaledTraining, CollapsingScaleThrowsTrainError) {
    Data d;
    torch::nn::Sequential net = sp::test::small_model(kFeatures, kClasses, kSeed);
    const sp::TrainConfig tc = train_config();
    auto opt = sp::make_optimizer(tc, net->parameters());
    Injection inj;
    for (std::int64_t k = 0; k < 15; ++k) inj.gradient.insert(k);
    sp::Trainer trainer(*net, injecting(net, inj), *opt, tc, torch::kCPU);
    GradScalerOptions o;
    o.init_scale = 4;
    o.min_scale = 1;
    trainer.enable_loss_scaling(o);
    // 4 -> 2 -> 1 -> 0.5: the third skipped step (epoch 0, step 2) falls below the floor.
    try {
        trainer.run(d.train, d.eval, kEpochs, {});
        FAIL() << "no TrainError";
    } catch (const sp::TrainError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("loss scale"), std::string::npos) << m;
        EXPECT_NE(m.find("epoch 0, step 2 of the epoch (step 2 overall)"), std::string::npos) << m;
        EXPECT_NE(m.find("3 steps skipped"), std::string::npos) << m;
    }
    EXPECT_EQ(inj.calls, 3);
}

TEST(ScaledTraining, DefaultOptionsStartAt2To16) {
    Data d;
    torch::nn::Sequential net = sp::test::small_model(kFeatures, kClasses, kSeed);
    const sp::TrainConfig tc = train_config();
    auto opt = sp::make_optimizer(tc, net->parameters());
    Injection inj;
    inj.gradient = {0};
    sp::Trainer trainer(*net, injecting(net, inj), *opt, tc, torch::kCPU);
    trainer.enable_loss_scaling();
    sp::TrainState start;
    start.loss_scale = 3; // ignored: a state that has taken no step starts at init_scale
    const sp::TrainState s = trainer.run(d.train, d.eval, 1, start);
    EXPECT_EQ(s.loss_scale, 32768);
    EXPECT_EQ(s.scale_good_steps, 4);
    EXPECT_EQ(s.skipped_steps, 1);
}

// Without loss scaling (fp32, and bf16 on the CPU) a non-finite loss is an error naming where.
TEST(UnscaledTraining, NonFiniteLossThrowsTrainErrorNamingEpochAndStep) {
    for (const sp::Precision precision : {sp::Precision::fp32, sp::Precision::bf16}) {
        Data d;
        torch::nn::Sequential net = sp::test::small_model(kFeatures, kClasses, kSeed);
        sp::TrainConfig tc = train_config();
        tc.precision = precision;
        auto opt = sp::make_optimizer(tc, net->parameters());
        Injection inj;
        inj.loss = {7};
        sp::Trainer trainer(*net, injecting(net, inj), *opt, tc, torch::kCPU);
        try {
            trainer.run(d.train, d.eval, kEpochs, {});
            FAIL() << "no TrainError";
        } catch (const sp::TrainError& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("epoch 1, step 2 of the epoch (step 7 overall)"), std::string::npos)
                << m;
            EXPECT_NE(m.find("loss is"), std::string::npos) << m;
        }
        EXPECT_EQ(inj.calls, 8);
    }
}

} // namespace
