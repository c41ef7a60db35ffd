#pragma once
/// Adam whose CPU update runs as one pass over each parameter instead of LibTorch's ten tensor
/// ops (each reading and writing the whole parameter): the same state, the same archive and,
/// on the CPU, the same bits as torch::optim::Adam.
///
///     sp::FusedAdam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
///     loss.backward();
///     opt.step();   // bit-identical to torch::optim::Adam::step()
///
/// The fused pass reproduces LibTorch's float rounding op by op (tests/unit/test_fused_adam.cpp
/// checks it bit for bit against torch::optim::Adam over many steps and thread counts):
///     m = fma(g, 1 - beta1, m * beta1)
///     v = fma((1 - beta2) * g, g, v * beta2)
///     p = p + (-lr / bc1 * m) / (sqrt(v) / sqrt(bc2) + eps)
/// with every constant rounded to float as LibTorch rounds it. Parameters that are not
/// contiguous float32 CPU tensors, and the options it does not fuse (weight decay, amsgrad), go
/// through torch::optim::Adam::step() unchanged.

#include <torch/torch.h>

#include <vector>

namespace sp {

class FusedAdam : public torch::optim::Adam {
  public:
    using torch::optim::Adam::Adam;

    /// One Adam step over every parameter with a gradient (as torch::optim::Adam::step; a
    /// closure is evaluated first, its loss returned).
    torch::Tensor step(LossClosure closure = nullptr) override;

    /// Whether step() fuses the update of `p` under `options` (else it runs LibTorch's ops).
    static bool fusable(const torch::Tensor& p, const torch::optim::AdamOptions& options);
};

} // namespace sp
