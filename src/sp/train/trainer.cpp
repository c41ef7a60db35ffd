#include "sp/train/trainer.hpp"

#include "sp/train/fused_adam.hpp"
#include "sp/train/schedule.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace sp {
namespace {

/// Autocast on `device` (CUDA or the CPU) for the scope. The C++ switch moved in LibTorch 2.4
/// (per-device functions); both spellings are on the stable API of their versions. The previous
/// setting comes back at the end of the scope.
class AutocastScope {
  public:
    AutocastScope(bool on, c10::DeviceType device, torch::ScalarType dtype)
        : on_(on), device_(device) {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        was_enabled_ = at::autocast::is_autocast_enabled(device_);
        was_dtype_ = at::autocast::get_autocast_dtype(device_);
        at::autocast::set_autocast_dtype(device_, dtype);
        at::autocast::set_autocast_enabled(device_, true);
#else
        if (device_ == c10::DeviceType::CPU) {
            was_enabled_ = at::autocast::is_cpu_enabled();
            was_dtype_ = at::autocast::get_autocast_cpu_dtype();
            at::autocast::set_autocast_cpu_dtype(dtype);
            at::autocast::set_cpu_enabled(true);
        } else {
            was_enabled_ = at::autocast::is_enabled();
            was_dtype_ = at::autocast::get_autocast_gpu_dtype();
            at::autocast::set_autocast_gpu_dtype(dtype);
            at::autocast::set_enabled(true);
        }
#endif
    }
    ~AutocastScope() {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::autocast::set_autocast_enabled(device_, was_enabled_);
        at::autocast::set_autocast_dtype(device_, was_dtype_);
#else
        if (device_ == c10::DeviceType::CPU) {
            at::autocast::set_cpu_enabled(was_enabled_);
            at::autocast::set_autocast_cpu_dtype(was_dtype_);
        } else {
            at::autocast::set_enabled(was_enabled_);
            at::autocast::set_autocast_gpu_dtype(was_dtype_);
        }
#endif
        // The weights cast for this scope; a new step casts them again.
        if (!was_enabled_) at::autocast::clear_cache();
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

  private:
    bool on_;
    c10::DeviceType device_;
    bool was_enabled_ = false;
    torch::ScalarType was_dtype_ = torch::kFloat32;
};

/// "epoch 3, step 10 of the epoch (step 412 overall)".
std::string where(std::int64_t epoch, std::int64_t index, std::int64_t step) {
    return "epoch " + std::to_string(epoch) + ", step " + std::to_string(index) +
           " of the epoch (step " + std::to_string(step) + " overall)";
}

/// Every parameter the optimizer steps.
std::vector<torch::Tensor> optimized_parameters(torch::optim::Optimizer& optimizer) {
    std::vector<torch::Tensor> out;
    for (auto& group : optimizer.param_groups())
        out.insert(out.end(), group.params().begin(), group.params().end());
    return out;
}

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
        // torch::optim::Adam's state, archive and bits, its CPU update in one pass.
        return std::make_unique<FusedAdam>(std::move(params), o);
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
    // Mixed precision where it exists: bf16 and fp16 on CUDA (fp16 with loss scaling), bf16 on
    // the CPU. fp16 on the CPU trains in fp32 (provenance records the device and precision).
    if (cfg_.precision == Precision::bf16 && (device_.is_cuda() || device_.is_cpu())) {
        autocast_ = true;
        autocast_dtype_ = torch::kBFloat16;
    } else if (cfg_.precision == Precision::fp16 && device_.is_cuda()) {
        autocast_ = true;
        autocast_dtype_ = torch::kHalf;
        enable_loss_scaling();
    }
}

void Trainer::enable_loss_scaling(GradScalerOptions options) { scaler_.emplace(options); }

std::pair<double, std::int64_t> Trainer::step(const Batch& batch, TrainState& state,
                                              std::int64_t epoch, std::int64_t index) {
    const torch::Tensor x = batch.images.to(device_, /*non_blocking=*/true);
    const torch::Tensor y = batch.labels.to(device_, /*non_blocking=*/true);
    // Gradients dropped rather than zeroed (LibTorch 2.x's default): backward then writes each
    // one instead of adding it to zeros, the same values (tests/unit/test_fused_adam.cpp).
    for (auto& p : optimized_parameters(optimizer_)) p.mutable_grad().reset();
    torch::Tensor logits;
    torch::Tensor loss;
    {
        AutocastScope autocast(autocast_, device_.type(), autocast_dtype_);
        logits = forward_(x);
        loss = torch::nn::functional::cross_entropy(
            logits.to(torch::kFloat32), y,
            torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(cfg_.label_smoothing));
    }
    const double value = loss.item<double>();
    const bool finite_loss = std::isfinite(value);
    if (scaler_) {
        scaler_->set_state(state.loss_scale, state.scale_good_steps);
        bool stepped = false;
        if (finite_loss) {
            scaler_->scale_loss(loss).backward();
            stepped = scaler_->step(optimizer_, optimized_parameters(optimizer_));
        } else {
            // An overflow in the forward pass: no gradient worth computing, the step is skipped.
            scaler_->update(/*found_non_finite=*/true);
        }
        state.loss_scale = scaler_->scale();
        state.scale_good_steps = scaler_->growth_tracker();
        if (!stepped) ++state.skipped_steps;
        if (scaler_->collapsed()) {
            throw TrainError("training diverged: the fp16 loss scale fell to " +
                             format_double(state.loss_scale) + ", below its floor " +
                             format_double(scaler_->options().min_scale) + ", at " +
                             where(epoch, index, state.step) + "; " +
                             std::to_string(state.skipped_steps) +
                             " steps skipped on non-finite values in all (the last one's loss " +
                             format_double(value) + ")");
        }
    } else {
        if (!finite_loss) {
            throw TrainError("training diverged: loss is " +
                             std::string(std::isnan(value) ? "NaN" : "infinite") + " at " +
                             where(epoch, index, state.step));
        }
        loss.backward();
        optimizer_.step();
    }
    ++state.step;
    const auto correct = logits.argmax(1).eq(y).sum().item<std::int64_t>();
    return {value * static_cast<double>(y.size(0)), correct};
}

bool Trainer::train_epoch(BatchSource& train, std::int64_t epochs, TrainState& state,
                          const StopCheck& stop, bool& stop_after) {
    module_.train();
    const auto t0 = std::chrono::steady_clock::now();
    const std::int64_t epoch = state.epoch;
    const std::int64_t steps = train.batches();
    PartialEpoch& p = state.partial;
    SP_CHECK(p.batches >= 0 && p.batches <= steps,
             "the training state is at batch " + std::to_string(p.batches) + " of epoch " +
                 std::to_string(epoch) + ", which has " + std::to_string(steps) + " batches");
    for (std::int64_t b = p.batches; b < steps; ++b) {
        set_learning_rate(optimizer_, learning_rate(cfg_, epochs, epoch, b, steps));
        const Batch batch = train.batch(epoch, b);
        const auto [l, c] = step(batch, state, epoch, b);
        p.loss_sum += l;
        p.correct += c;
        p.seen += batch.labels.size(0);
        p.batches = b + 1;
        if (stop && stop()) {
            if (b + 1 < steps) {
                p.seconds += seconds_since(t0);
                return false;
            }
            stop_after = true;
        }
    }
    p.seconds += seconds_since(t0);
    return true;
}

double Trainer::evaluate(BatchSource& eval) {
    // fp32, no autocast: the precision of embed() (extract.cpp), which gives the final accuracy.
    torch::NoGradGuard no_grad;
    module_.eval();
    std::int64_t correct = 0;
    std::int64_t seen = 0;
    for (std::int64_t b = 0; b < eval.batches(); ++b) {
        const Batch batch = eval.batch(0, b);
        const torch::Tensor logits = forward_(batch.images.to(device_));
        correct += logits.argmax(1).eq(batch.labels.to(device_)).sum().item<std::int64_t>();
        seen += batch.labels.size(0);
    }
    return seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
}

TrainState Trainer::run(BatchSource& train, BatchSource& eval, std::int64_t epochs,
                        TrainState start, const EpochHook& hook, const StopCheck& stop) {
    TrainState state = std::move(start);
    if (scaler_ && state.step == 0) {
        state.loss_scale = GradScaler(scaler_->options()).scale();
        state.scale_good_steps = 0;
    }
    const std::int64_t eval_every = std::max<std::int64_t>(cfg_.eval_every, 1);
    while (state.epoch < epochs) {
        bool stop_after = false;
        if (!train_epoch(train, epochs, state, stop, stop_after)) return state;
        const PartialEpoch& p = state.partial;
        EpochRecord r;
        r.epoch = static_cast<std::int32_t>(state.epoch);
        const auto seen = static_cast<double>(p.seen);
        r.loss = p.seen > 0 ? p.loss_sum / seen : 0.0;
        r.train_accuracy = p.seen > 0 ? static_cast<double>(p.correct) / seen : 0.0;
        r.images_per_second = p.seconds > 0 ? seen / p.seconds : 0.0;
        const auto t0 = std::chrono::steady_clock::now();
        const bool due = (state.epoch + 1) % eval_every == 0 || state.epoch + 1 == epochs;
        r.eval_accuracy = due ? evaluate(eval) : std::numeric_limits<double>::quiet_NaN();
        r.seconds = p.seconds + seconds_since(t0);
        state.history.push_back(r);
        state.partial = PartialEpoch{};
        ++state.epoch;
        if (hook && !hook(state)) break;
        if (stop_after) break;
    }
    return state;
}

} // namespace sp
