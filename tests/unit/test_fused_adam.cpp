// sp::FusedAdam against LibTorch's own torch::optim::Adam: the same bits after many steps, at
// several thread counts, through a learning-rate schedule, across an archive written by one and
// read by the other, and LibTorch's path for what it does not fuse.
#include "sp/model/resnet.hpp"
#include "sp/train/fused_adam.hpp"

#include "trainer_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using sp::FusedAdam;
using sp::test::identical;

namespace {

/// Restores LibTorch's thread count.
struct ThreadCount {
    explicit ThreadCount(int n) : saved(torch::get_num_threads()) { torch::set_num_threads(n); }
    ~ThreadCount() { torch::set_num_threads(saved); }
    int saved;
};

/// Clones of `params`' values.
std::vector<torch::Tensor> values(const std::vector<torch::Tensor>& params) {
    std::vector<torch::Tensor> out;
    for (const auto& p : params) out.push_back(p.detach().clone());
    return out;
}

/// One training step as sp's Trainer takes it (gradients dropped, then backward) or as before
/// (gradients zeroed by the optimizer).
void train_step(sp::ResNet18& net, torch::optim::Optimizer& opt, std::int64_t step, bool drop) {
    torch::manual_seed(static_cast<std::uint64_t>(1000 + step));
    const torch::Tensor x = torch::randn({16, 3, 32, 32});
    const torch::Tensor y = torch::randint(0, 10, {16});
    if (drop) {
        for (auto& p : net->parameters()) p.mutable_grad().reset();
    } else {
        opt.zero_grad();
    }
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    opt.step();
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
    for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

/// Runs `steps` steps from the same initial model with LibTorch's Adam (zeroed gradients, as sp
/// trained until now) and with FusedAdam (dropped gradients, as the Trainer now does), the
/// learning rate changing every step as a schedule changes it, and compares the parameters bit
/// for bit after every step.
void expect_same_training(int threads, std::int64_t steps, double width) {
    const ThreadCount pin(threads);
    sp::ResNet18 a(sp::ResNet18Options().width(width).num_classes(10), 7);
    sp::ResNet18 b(sp::ResNet18Options().width(width).num_classes(10), 7);
    ASSERT_TRUE(identical(values(a->parameters()), values(b->parameters())));
    torch::optim::Adam reference(a->parameters(), torch::optim::AdamOptions(1e-3));
    FusedAdam fused(b->parameters(), torch::optim::AdamOptions(1e-3));
    for (std::int64_t s = 0; s < steps; ++s) {
        const double lr = 1e-3 * (1.0 - 0.05 * static_cast<double>(s));
        set_lr(reference, lr);
        set_lr(fused, lr);
        train_step(a, reference, s, /*drop=*/false);
        train_step(b, fused, s, /*drop=*/true);
        ASSERT_TRUE(identical(values(a->parameters()), values(b->parameters())))
            << threads << " threads, after step " << s;
    }
}

std::string archive_bytes(torch::optim::Optimizer& opt) {
    torch::serialize::OutputArchive out;
    opt.save(out);
    std::ostringstream bytes;
    out.save_to(bytes);
    return bytes.str();
}

void load_archive(torch::optim::Optimizer& opt, const std::string& bytes) {
    torch::serialize::InputArchive in;
    std::istringstream from(bytes);
    in.load_from(from);
    opt.load(in);
}

} // namespace

TEST(FusedAdam, BitIdenticalToLibTorchAdamOneThread) { expect_same_training(1, 12, 0.25); }
TEST(FusedAdam, BitIdenticalToLibTorchAdamTwoThreads) { expect_same_training(2, 12, 0.25); }
TEST(FusedAdam, BitIdenticalToLibTorchAdamThreeThreads) { expect_same_training(3, 8, 0.5); }

TEST(FusedAdam, OddSizesAndRangesSplitOverThreads) {
    // Sizes that leave tails for the 8-lane pass and ranges LibTorch's parallel_for splits.
    for (const std::int64_t n : {1, 7, 9, 37, 16385, 100003}) {
        for (const int threads : {1, 2, 3}) {
            const ThreadCount pin(threads);
            torch::manual_seed(static_cast<std::uint64_t>(n));
            const torch::Tensor init = torch::randn({n});
            torch::Tensor pa = init.clone().requires_grad_();
            torch::Tensor pb = init.clone().requires_grad_();
            const auto options = torch::optim::AdamOptions(3e-2).betas({0.8, 0.99}).eps(1e-6);
            torch::optim::Adam reference({pa}, options);
            FusedAdam fused({pb}, options);
            for (int s = 0; s < 5; ++s) {
                // Gradients over many magnitudes, zeros and negative zeros among them.
                torch::Tensor g = torch::randn({n}) * torch::pow(10.0, torch::randint(-8, 4, {n}));
                g.index_put_({torch::randint(0, n, {n / 5 + 1})}, 0.0);
                g.index_put_({torch::randint(0, n, {n / 5 + 1})}, -0.0);
                pa.mutable_grad() = g.clone();
                pb.mutable_grad() = g.clone();
                reference.step();
                fused.step();
                ASSERT_TRUE(identical({pa.detach()}, {pb.detach()}))
                    << "n " << n << ", " << threads << " threads, step " << s;
            }
        }
    }
}

TEST(FusedAdam, ArchivesAreInterchangeable) {
    // LibTorch's Adam for 4 steps, its archive read by FusedAdam, 4 more steps; against LibTorch's
    // Adam for all 8. And the other way round.
    for (const bool fused_first : {false, true}) {
        sp::ResNet18 a(sp::ResNet18Options().width(0.25).num_classes(10), 3);
        sp::ResNet18 b(sp::ResNet18Options().width(0.25).num_classes(10), 3);
        torch::optim::Adam reference(a->parameters(), torch::optim::AdamOptions(1e-3));
        std::unique_ptr<torch::optim::Optimizer> first;
        if (fused_first) {
            first = std::make_unique<FusedAdam>(b->parameters(), torch::optim::AdamOptions(1e-3));
        } else {
            first = std::make_unique<torch::optim::Adam>(b->parameters(),
                                                         torch::optim::AdamOptions(1e-3));
        }
        for (std::int64_t s = 0; s < 4; ++s) {
            train_step(a, reference, s, false);
            train_step(b, *first, s, true);
        }
        std::unique_ptr<torch::optim::Optimizer> second;
        if (fused_first) {
            second = std::make_unique<torch::optim::Adam>(b->parameters(),
                                                          torch::optim::AdamOptions(1e-3));
        } else {
            second = std::make_unique<FusedAdam>(b->parameters(), torch::optim::AdamOptions(1e-3));
        }
        load_archive(*second, archive_bytes(*first));
        first.reset();
        for (std::int64_t s = 4; s < 8; ++s) {
            train_step(a, reference, s, false);
            train_step(b, *second, s, true);
        }
        EXPECT_TRUE(identical(values(a->parameters()), values(b->parameters())))
            << (fused_first ? "FusedAdam then Adam" : "Adam then FusedAdam");
    }
}

TEST(FusedAdam, WhatItDoesNotFuseIsLibTorchsAdam) {
    // Weight decay, amsgrad and double parameters take torch::optim::Adam::step() itself.
    const auto decay = torch::optim::AdamOptions(1e-2).weight_decay(0.1);
    const auto ams = torch::optim::AdamOptions(1e-2).amsgrad(true);
    for (const auto& options : {decay, ams}) {
        for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
            torch::manual_seed(5);
            const torch::Tensor init = torch::randn({33}, dtype);
            torch::Tensor pa = init.clone().requires_grad_();
            torch::Tensor pb = init.clone().requires_grad_();
            torch::optim::Adam reference({pa}, options);
            FusedAdam fused({pb}, options);
            EXPECT_FALSE(FusedAdam::fusable(pb, options));
            for (int s = 0; s < 3; ++s) {
                const torch::Tensor g = torch::randn({33}, dtype);
                pa.mutable_grad() = g.clone();
                pb.mutable_grad() = g.clone();
                reference.step();
                fused.step();
            }
            EXPECT_TRUE(identical({pa.detach()}, {pb.detach()}));
        }
    }
    torch::Tensor p = torch::randn({8}).requires_grad_();
    p.mutable_grad() = torch::randn({8});
    EXPECT_TRUE(FusedAdam::fusable(p, torch::optim::AdamOptions(1e-3)));
    torch::Tensor strided = torch::randn({4, 8}).t().requires_grad_();
    strided.mutable_grad() = torch::randn({8, 4});
    EXPECT_FALSE(FusedAdam::fusable(strided, torch::optim::AdamOptions(1e-3)));
}
