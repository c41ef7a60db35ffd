#pragma once
// Shared by test_grad_scaler.cpp and test_trainer_stop.cpp: a small in-memory BatchSource and a
// small model (linear layers, batch norm, dropout) that train in milliseconds on the CPU.
#include "sp/train/trainer.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace sp::test {

/// `count` random samples of `features` values in `classes` classes, fixed by `seed`; batch b
/// of epoch e is a slice of an order shuffled by e (a pure function of (e, b), as BatchSource
/// asks). The last batch may be short.
class MemorySource : public BatchSource {
  public:
    MemorySource(std::int64_t count, std::int64_t features, std::int64_t classes,
                 std::int64_t batch_size, std::uint64_t seed, bool shuffle = true)
        : batch_size_(batch_size), shuffle_(shuffle) {
        auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
        x_ = torch::randn({count, features}, gen, torch::kFloat32);
        y_ = torch::randint(classes, {count}, gen, torch::kInt64);
    }
    std::int64_t batches() const override { return (images() + batch_size_ - 1) / batch_size_; }
    std::int64_t images() const override { return x_.size(0); }
    Batch batch(std::int64_t epoch, std::int64_t b) override {
        torch::Tensor order = torch::arange(images(), torch::kInt64);
        if (shuffle_) {
            auto gen = at::make_generator<at::CPUGeneratorImpl>(1000 + epoch);
            order = torch::randperm(images(), gen, torch::kInt64);
        }
        const std::int64_t lo = b * batch_size_;
        const std::int64_t hi = std::min(images(), lo + batch_size_);
        const torch::Tensor idx = order.slice(0, lo, hi);
        Batch out;
        out.images = x_.index_select(0, idx);
        out.labels = y_.index_select(0, idx);
        out.number = b;
        ++calls_;
        return out;
    }
    std::int64_t calls() const { return calls_; }

  private:
    std::int64_t batch_size_;
    bool shuffle_;
    torch::Tensor x_;
    torch::Tensor y_;
    std::int64_t calls_ = 0;
};

/// Linear, batch norm, ReLU, dropout, linear: initialised from `seed` (the global generator is
/// reseeded with it, so that dropout's stream starts there too).
inline torch::nn::Sequential small_model(std::int64_t features, std::int64_t classes,
                                         std::uint64_t seed) {
    torch::manual_seed(seed);
    return torch::nn::Sequential(torch::nn::Linear(features, 16), torch::nn::BatchNorm1d(16),
                                 torch::nn::ReLU(), torch::nn::Dropout(0.25),
                                 torch::nn::Linear(16, classes));
}

/// Copies of every parameter and buffer, in module order.
inline std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
    std::vector<torch::Tensor> out;
    for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
    for (const auto& b : m.buffers()) out.push_back(b.detach().clone());
    return out;
}

/// Copies of the parameters alone.
inline std::vector<torch::Tensor> parameters_of(torch::nn::Module& m) {
    std::vector<torch::Tensor> out;
    for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
    return out;
}

/// Bit-identical tensors, one by one (torch::equal compares values exactly).
inline bool identical(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].sizes() != b[i].sizes() || a[i].scalar_type() != b[i].scalar_type()) return false;
        // Compare the bytes, so that NaN == NaN and -0 != +0 as bits.
        const torch::Tensor x = a[i].contiguous();
        const torch::Tensor y = b[i].contiguous();
        if (std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) != 0)
            return false;
    }
    return true;
}

} // namespace sp::test
