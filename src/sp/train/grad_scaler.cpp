#include "sp/train/grad_scaler.hpp"

#include "sp/util/error.hpp"

#include <cmath>
#include <limits>
#include <string>

namespace sp {
namespace {

/// PyTorch keeps the scale in a float32 tensor: every value it takes is a float32. Rounded to
/// nearest as the hardware does, overflow included (a plain cast of a double beyond float's range
/// is undefined behaviour): from 2^128 - 2^103 (halfway to the next power) on it is infinite.
double as_float(double v) {
    const double fmax = static_cast<double>(std::numeric_limits<float>::max());
    if (std::fabs(v) > fmax) {
        const double overflow = 0x1p128 - 0x1p103;
        return std::fabs(v) >= overflow ? std::copysign(HUGE_VAL, v) : std::copysign(fmax, v);
    }
    return static_cast<double>(static_cast<float>(v));
}

} // namespace

GradScaler::GradScaler(GradScalerOptions options)
    : options_(options), scale_(as_float(options.init_scale)) {
    SP_CHECK(options_.init_scale > 0 && std::isfinite(options_.init_scale),
             "GradScaler: init_scale " + std::to_string(options_.init_scale));
    SP_CHECK(options_.growth_factor > 1.0,
             "GradScaler: growth_factor " + std::to_string(options_.growth_factor));
    SP_CHECK(options_.backoff_factor > 0.0 && options_.backoff_factor < 1.0,
             "GradScaler: backoff_factor " + std::to_string(options_.backoff_factor));
    SP_CHECK(options_.growth_interval >= 1,
             "GradScaler: growth_interval " + std::to_string(options_.growth_interval));
}

void GradScaler::set_state(double scale, std::int64_t growth_tracker) {
    scale_ = scale;
    growth_tracker_ = growth_tracker;
}

torch::Tensor GradScaler::scale_loss(const torch::Tensor& loss) const { return loss * scale_; }

bool GradScaler::unscale(const std::vector<torch::Tensor>& params) const {
    // torch.amp.GradScaler: inv_scale = self._scale.double().reciprocal().float().
    const double inv_scale = as_float(1.0 / scale_);
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> peaks;
    for (const auto& p : params) {
        torch::Tensor g = p.grad();
        if (!g.defined()) continue;
        g.mul_(inv_scale);
        // max propagates NaN, so the peak is finite exactly when every element is.
        peaks.push_back(g.abs().max().to(torch::kFloat32));
    }
    if (peaks.empty()) return true;
    const torch::Tensor all = torch::stack(peaks);
    return all.isfinite().all().item<bool>();
}

void GradScaler::update(bool found_non_finite) {
    // torch._amp_update_scale_: backoff and restart the count on a non-finite step; otherwise
    // count, and at growth_interval grow (only to a finite scale) and restart the count. The
    // product is formed in double (the kernel's factors are doubles) and stored as float32.
    if (found_non_finite) {
        scale_ = as_float(scale_ * options_.backoff_factor);
        growth_tracker_ = 0;
        return;
    }
    const std::int64_t successful = growth_tracker_ + 1;
    if (successful == options_.growth_interval) {
        const double grown = as_float(scale_ * options_.growth_factor);
        if (std::isfinite(grown)) scale_ = grown;
        growth_tracker_ = 0;
    } else {
        growth_tracker_ = successful;
    }
}

bool GradScaler::step(torch::optim::Optimizer& optimizer,
                      const std::vector<torch::Tensor>& params) {
    const bool finite = unscale(params);
    if (finite) optimizer.step();
    update(!finite);
    return finite;
}

} // namespace sp
