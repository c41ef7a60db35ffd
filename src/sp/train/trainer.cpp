#include "sp/train/trainer.hpp"

#include "sp/train/schedule.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"

#include <ATen/autocast_mode.h>

#include <chrono>
#include <cmath>

namespace sp {
namespace {

// Dynamic loss scaling for fp16, as torch.cuda.amp.GradScaler does it by default.
constexpr double kScaleGrowth = 2.0;
constexpr double kScaleBackoff = 0.5;
constexpr std::int64_t kScaleGrowthInterval = 2000;

/// Autocast on CUDA for the scope. The C++ switch moved in LibTorch 2.4 (per-device functions);
/// both spellings are on the stable API of their versions.
class AutocastScope {
  public:
    AutocastScope(bool on, torch::ScalarType dtype) : on_(on) {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::autocast::set_autocast_dtype(at::kCUDA, dtype);
        at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
        at::autocast::set_autocast_gpu_dtype(dtype);
        at::autocast::set_enabled(true);
#endif
    }
    ~AutocastScope() {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
        at::autocast::set_enabled(false);
#endif
        at::autocast::clear_cache();
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

  private:
    bool on_;
};

} // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& cfg,
                                                        std::vector<torch::Tensor> params) {
    switch (cfg.optimizer) {
    case Optimizer::sgd: {
        auto o = torch::optim::SGDOptions(cfg.lr)
                     .momentum(cfg.momentum)
                     .nesterov(cfg.nesterov)
                     .weight_decay(cfg.weight_decay);
        return std::make_unique<torch::optim::SGD>(std::move(params), o);
    }
    case Optimizer::adamw: {
        auto o = torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay);
        return std::make_unique<torch::optim::AdamW>(std::move(params), o);
    }
    case Optimizer::adam: {
        auto o = torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay);
        return std::make_unique<torch::optim::Adam>(std::move(params), o);
    }
    }
    throw ConfigError("train.optimizer: unknown optimizer");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

bool configure_determinism(bool deterministic) {
    auto& ctx = at::globalContext();
    ctx.setDeterministicAlgorithms(deterministic, /*warn_only=*/false);
    ctx.setDeterministicCuDNN(deterministic);
    ctx.setBenchmarkCuDNN(!deterministic);
    return deterministic;
}

Trainer::Trainer(torch::nn::Module& module, Forward forward, torch::optim::Optimizer& optimizer,
                 const TrainConfig& cfg, torch::Device device)
    : module_(module), forward_(std::move(forward)), optimizer_(optimizer), cfg_(cfg),
      device_(device) {
    // Mixed precision only where it pays and exists: CUDA. The CPU trains in fp32 whatever the
    // config says, and provenance records the device.
    if (device_.is_cuda() && cfg_.precision != Precision::fp32) {
        autocast_ = true;
        autocast_dtype_ = cfg_.precision == Precision::bf16 ? torch::kBFloat16 : torch::kHalf;
        loss_scaling_ = cfg_.precision == Precision::fp16;
    }
}

std::pair<double, std::int64_t> Trainer::step(const Batch& batch, TrainState& state,
                                              std::int64_t epoch, std::int64_t index) {
    const torch::Tensor x = batch.images.to(device_, /*non_blocking=*/true);
    const torch::Tensor y = batch.labels.to(device_, /*non_blocking=*/true);
    optimizer_.zero_grad();
    torch::Tensor logits;
    torch::Tensor loss;
    {
        AutocastScope autocast(autocast_, autocast_dtype_);
        logits = forward_(x);
        loss = torch::nn::functional::cross_entropy(
            logits.to(torch::kFloat32), y,
            torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(cfg_.label_smoothing));
    }
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
        throw TrainError("training diverged: loss is " +
                         std::string(std::isnan(value) ? "NaN" : "infinite") + " at epoch " +
                         std::to_string(epoch) + ", step " + std::to_string(index) +
                         " of the epoch (step " + std::to_string(state.step) + " overall)");
    }
    if (loss_scaling_) {
        (loss * state.loss_scale).backward();
        bool finite = true;
        {
            torch::NoGradGuard no_grad;
            std::vector<torch::Tensor> norms;
            for (auto& p : module_.parameters()) {
                if (!p.grad().defined()) continue;
                p.grad().mul_(1.0 / state.loss_scale);
                norms.push_back(p.grad().abs().max());
            }
            if (!norms.empty()) finite = torch::stack(norms).isfinite().all().item<bool>();
        }
        if (finite) {
            optimizer_.step();
            if (++state.scale_good_steps >= kScaleGrowthInterval) {
                state.loss_scale *= kScaleGrowth;
                state.scale_good_steps = 0;
            }
        } else {
            // Overflow in fp16 gradients: skip this step and retry smaller, as GradScaler does.
            state.loss_scale *= kScaleBackoff;
            state.scale_good_steps = 0;
        }
    } else {
        loss.backward();
        optimizer_.step();
    }
    ++state.step;
    const auto correct = logits.argmax(1).eq(y).sum().item<std::int64_t>();
    return {value * static_cast<double>(y.size(0)), correct};
}

EpochRecord Trainer::train_epoch(BatchSource& train, std::int64_t epochs, std::int64_t epoch,
                                 TrainState& state) {
    module_.train();
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t correct = 0;
    std::int64_t seen = 0;
    const std::int64_t steps = train.batches();
    for (std::int64_t b = 0; b < steps; ++b) {
        set_learning_rate(optimizer_, learning_rate(cfg_, epochs, epoch, b, steps));
        const Batch batch = train.batch(epoch, b);
        const auto [l, c] = step(batch, state, epoch, b);
        loss_sum += l;
        correct += c;
        seen += batch.labels.size(0);
    }
    const double train_seconds = seconds_since(t0);
    EpochRecord r;
    r.epoch = static_cast<std::int32_t>(epoch);
    r.loss = seen > 0 ? loss_sum / static_cast<double>(seen) : 0.0;
    r.train_accuracy = seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
    r.images_per_second = train_seconds > 0 ? static_cast<double>(seen) / train_seconds : 0.0;
    r.seconds = train_seconds;
    return r;
}

double Trainer::evaluate(BatchSource& eval) {
    torch::NoGradGuard no_grad;
    module_.eval();
    std::int64_t correct = 0;
    std::int64_t seen = 0;
    for (std::int64_t b = 0; b < eval.batches(); ++b) {
        const Batch batch = eval.batch(0, b);
        torch::Tensor logits;
        {
            AutocastScope autocast(autocast_, autocast_dtype_);
            logits = forward_(batch.images.to(device_));
        }
        correct += logits.argmax(1).eq(batch.labels.to(device_)).sum().item<std::int64_t>();
        seen += batch.labels.size(0);
    }
    return seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
}

TrainState Trainer::run(BatchSource& train, BatchSource& eval, std::int64_t epochs,
                        TrainState start, const EpochHook& hook, const StopCheck& /*stop*/) {
    TrainState state = std::move(start);
    while (state.epoch < epochs) {
        const auto t0 = std::chrono::steady_clock::now();
        EpochRecord r = train_epoch(train, epochs, state.epoch, state);
        r.eval_accuracy = evaluate(eval);
        r.seconds = seconds_since(t0);
        state.history.push_back(r);
        ++state.epoch;
        if (hook && !hook(state)) break;
    }
    return state;
}

} // namespace sp
