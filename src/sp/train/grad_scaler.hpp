#pragma once
/// Dynamic loss scaling for fp16 training, with the semantics of PyTorch's
/// torch.amp.GradScaler (defaults init_scale 2^16, growth_factor 2, backoff_factor 0.5,
/// growth_interval 2000): the loss is multiplied by the scale before backward; the gradients are
/// divided by it; if any gradient is non-finite the optimizer step is skipped and the scale is
/// multiplied by the backoff factor (the growth count restarts); otherwise the step is taken and
/// after `growth_interval` consecutive finite steps the scale is multiplied by the growth
/// factor. Works on any device: the CPU tests inject non-finite gradients.
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
};

class GradScaler {
  public:
    explicit GradScaler(GradScalerOptions options = {});

    /// The current scale and the count of consecutive finite steps since it last changed.
    double scale() const { return scale_; }
    std::int64_t growth_tracker() const { return growth_tracker_; }
    /// Restores both (from a checkpoint).
    void set_state(double scale, std::int64_t growth_tracker);

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
