#pragma once
/// Dynamic loss scaling for fp16 training, with the semantics of PyTorch's
/// torch.amp.GradScaler (defaults init_scale 2^16, growth_factor 2, backoff_factor 0.5,
/// growth_interval 2000): the loss is multiplied by the scale before backward; the gradients are
/// divided by it; if any gradient is non-finite the optimizer step is skipped and the scale is
/// multiplied by the backoff factor (the growth count restarts); otherwise the step is taken and
/// after `growth_interval` consecutive finite steps the scale is multiplied by the growth
/// factor. Works on any device: the CPU tests inject non-finite gradients.
///
/// As PyTorch does, the scale is a float32 value (the arithmetic on it rounds to float32), the
/// gradients are multiplied by the float32 reciprocal of the scale, and a grown scale that is not
/// finite is not taken. One difference: PyTorch checks the gradients before dividing them, this
/// class after; the two agree whenever the scale is >= 1 (dividing cannot overflow then), and
/// below 1 a gradient that overflows on division counts as non-finite here rather than reaching
/// the optimizer as inf.
///
///     sp::GradScaler scaler;                       // or GradScaler({.init_scale = 1024})
///     scaler.scale_loss(loss).backward();
///     const bool stepped = scaler.step(optimizer, params);   // unscale, check, step or skip
///     // scaler.scale(), scaler.growth_tracker() go into checkpoints (TrainState)

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace sp {

struct GradScalerOptions {
    double init_scale = 65536.0;
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    std::int64_t growth_interval = 2000;
    /// Not PyTorch's: the scale below which training is hopeless (collapsed() turns true and
    /// Trainer stops with a TrainError). 2^-24 is fp16's smallest subnormal; from the default
    /// init_scale 2^16 it takes at least 41 more backoffs than growths to fall below it, i.e.
    /// 41 consecutive skipped steps.
    double min_scale = 0x1p-24;
};

class GradScaler {
  public:
    /// Options out of range (init_scale not positive and finite, growth_factor <= 1,
    /// backoff_factor outside (0, 1), growth_interval < 1) are a bug: InternalError.
    explicit GradScaler(GradScalerOptions options = {});

    /// The current scale and the count of consecutive finite steps since it last changed.
    double scale() const { return scale_; }
    std::int64_t growth_tracker() const { return growth_tracker_; }
    /// Restores both (from a checkpoint).
    void set_state(double scale, std::int64_t growth_tracker);
    const GradScalerOptions& options() const { return options_; }
    /// True when the scale has fallen below options().min_scale.
    bool collapsed() const { return scale_ < options_.min_scale; }

    /// loss * scale.
    torch::Tensor scale_loss(const torch::Tensor& loss) const;

    /// Divides every defined gradient of `params` by the scale, in place; true when every one
    /// is finite afterwards.
    bool unscale(const std::vector<torch::Tensor>& params) const;

    /// Applies the outcome of one step to the scale (backoff on `found_non_finite`, growth after
    /// growth_interval finite steps).
    void update(bool found_non_finite);

    /// unscale(); optimizer.step() when every gradient is finite; update(). Returns whether the
    /// step was taken.
    bool step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params);

  private:
    GradScalerOptions options_;
    double scale_;
    std::int64_t growth_tracker_ = 0;
};

} // namespace sp
