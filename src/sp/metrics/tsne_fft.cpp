// FFT-accelerated interpolation of the t-SNE repulsion (FIt-SNE; Linderman et al. 2019, Nat.
// Methods 16:243). The map's bounding square is cut into boxes of width <= 1, each with 3
// equispaced interpolation nodes; a unit charge per point is spread to the nodes with quadratic
// Lagrange weights, convolved on the node grid by FFT (zero-padded to twice the grid, so the
// circular convolution is the linear one) with three kernels, and interpolated back:
//   K(d) = 1 / (1 + |d|^2)             -> sum_j w_ij (Z, with j = i contributing 1, removed)
//   K(d)^2 d_x, K(d)^2 d_y             -> sum_j w_ij^2 (y_i - y_j), the force itself.
// Unlike FIt-SNE's charges (1, x, y, |y|^2) with one kernel, nothing cancels: the force error
// stays relative to the force, not to |y| times the potential.
#include "sp/metrics/tsne_repulsion.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace sp::tsne_detail {
namespace {

// FIt-SNE uses at least 50 boxes; accuracy only needs boxes of width <= 1 (the kernel's scale),
// and a small map (early iterations, small n) would pay for a grid far finer than that.
constexpr std::int64_t kMinBoxes = 10;
// At most this many boxes per side (FFT grid 1536^2): a map wider than 256 units (a learning rate
// far too large for a small n) gets wider boxes, less accurate but bounded in time and memory.
constexpr std::int64_t kMaxBoxes = 256;
constexpr double kBoxesPerUnit = 1.0;
constexpr std::int64_t kNodesPerBox = 3;
constexpr std::int64_t kKernels = 3;
// Points are spread onto this many partial grids (by index range), summed in partition order:
// a fixed number, so the sums do not depend on the thread count.
constexpr std::int64_t kPartitions = 8;

/// The smallest 2,3,5-smooth number >= v (fast FFT sizes).
std::int64_t smooth_at_least(std::int64_t v) {
    for (std::int64_t m = std::max<std::int64_t>(v, 1);; ++m) {
        std::int64_t r = m;
        for (const std::int64_t p : {2, 3, 5}) {
            while (r % p == 0) r /= p;
        }
        if (r == 1) return m;
    }
}

/// Quadratic Lagrange weights on nodes at 0.5, 1.5, 2.5 for a local coordinate u in [0, 3].
std::array<double, 3> lagrange(double u) {
    return {(u - 1.5) * (u - 2.5) / 2.0, -(u - 0.5) * (u - 2.5), (u - 0.5) * (u - 1.5) / 2.0};
}

} // namespace

double FftRepulsion::operator()(const double* y, std::int64_t n, double* neg) {
    torch::NoGradGuard no_grad;
    double lo_x = std::numeric_limits<double>::infinity();
    double lo_y = lo_x;
    double hi_x = -lo_x;
    double hi_y = -lo_x;
    for (std::int64_t i = 0; i < n; ++i) {
        lo_x = std::min(lo_x, y[2 * i]);
        hi_x = std::max(hi_x, y[2 * i]);
        lo_y = std::min(lo_y, y[2 * i + 1]);
        hi_y = std::max(hi_y, y[2 * i + 1]);
    }
    const double side = std::max({hi_x - lo_x, hi_y - lo_y, 1e-12}) * (1.0 + 1e-9);
    const auto want = static_cast<std::int64_t>(std::ceil(side * kBoxesPerUnit));
    // Grid of 3 * boxes nodes per side, FFT size 6 * boxes: boxes is 2,3,5-smooth.
    const std::int64_t boxes = smooth_at_least(std::clamp(want, kMinBoxes, kMaxBoxes));
    const std::int64_t nodes = kNodesPerBox * boxes;
    const std::int64_t fft_n = 2 * nodes;
    // Measured on 2 cores: one FFT iteration costs about as much as 40 fft_n^2 exact pairs.
    constexpr double kGridCostPerCell = 40.0;
    if (exact_when_cheaper_ && static_cast<double>(n) * static_cast<double>(n) <=
                                   kGridCostPerCell * static_cast<double>(fft_n * fft_n))
        return repulsion_exact(y, n, neg);
    const double box = side / static_cast<double>(boxes);
    const double h = box / static_cast<double>(kNodesPerBox);
    const auto un = static_cast<std::size_t>(n);
    const auto cells = static_cast<std::size_t>(nodes * nodes);

    // Per point: its box (bx, by) and 3 + 3 Lagrange weights.
    box_.resize(2 * un);
    weights_.resize(6 * un);
    at::parallel_for(0, n, 1024, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            const double lx[2] = {y[2 * i] - lo_x, y[2 * i + 1] - lo_y};
            for (int c = 0; c < 2; ++c) {
                const auto bi = std::clamp<std::int64_t>(
                    static_cast<std::int64_t>(std::floor(lx[c] / box)), 0, boxes - 1);
                const double u = lx[c] / h - static_cast<double>(kNodesPerBox * bi);
                const auto w = lagrange(u);
                box_[2 * static_cast<std::size_t>(i) + static_cast<std::size_t>(c)] = bi;
                for (std::size_t s = 0; s < 3; ++s)
                    weights_[6 * static_cast<std::size_t>(i) + 3 * static_cast<std::size_t>(c) +
                             s] = w[s];
            }
        }
    });

    // Spread: partition p covers points [n p / P, n (p + 1) / P).
    grid_.assign(static_cast<std::size_t>(kPartitions) * cells, 0.0);
    at::parallel_for(0, kPartitions, 1, [&](std::int64_t pb, std::int64_t pe) {
        for (std::int64_t p = pb; p < pe; ++p) {
            double* g = grid_.data() + static_cast<std::size_t>(p) * cells;
            for (std::int64_t i = n * p / kPartitions; i < n * (p + 1) / kPartitions; ++i) {
                const auto ui = static_cast<std::size_t>(i);
                const double* wx = weights_.data() + 6 * ui;
                const double* wy = wx + 3;
                const std::int64_t r0 = kNodesPerBox * box_[2 * ui + 1];
                const std::int64_t c0 = kNodesPerBox * box_[2 * ui];
                for (std::int64_t a = 0; a < 3; ++a) {
                    for (std::int64_t bb = 0; bb < 3; ++bb)
                        g[static_cast<std::size_t>((r0 + a) * nodes + c0 + bb)] += wy[a] * wx[bb];
                }
            }
        }
    });
    for (std::size_t t = 0; t < cells; ++t) {
        double s = grid_[t];
        for (std::size_t p = 1; p < static_cast<std::size_t>(kPartitions); ++p)
            s += grid_[p * cells + t];
        grid_[t] = s;
    }

    // Kernels on the circulant fft_n x fft_n grid (rows: y offsets, columns: x offsets), signed
    // offsets -(nodes-1)..nodes-1; the middle row/column (offset +-nodes) is never used.
    torch::Tensor kernels = torch::zeros({kKernels, fft_n, fft_n}, torch::kDouble);
    double* kp = kernels.data_ptr<double>();
    const auto plane = static_cast<std::size_t>(fft_n * fft_n);
    for (std::int64_t a = 0; a < fft_n; ++a) {
        if (a == nodes) continue;
        const double dy = h * static_cast<double>(a < nodes ? a : a - fft_n);
        for (std::int64_t bb = 0; bb < fft_n; ++bb) {
            if (bb == nodes) continue;
            const double dx = h * static_cast<double>(bb < nodes ? bb : bb - fft_n);
            const double w = 1.0 / (1.0 + dx * dx + dy * dy);
            const auto at = static_cast<std::size_t>(a * fft_n + bb);
            kp[at] = w;
            kp[plane + at] = w * w * dx;
            kp[2 * plane + at] = w * w * dy;
        }
    }
    const torch::Tensor kernel_hat = torch::fft::rfft2(kernels);
    const torch::Tensor charges = torch::from_blob(grid_.data(), {1, nodes, nodes}, torch::kDouble);
    // Pruned 2-D transform: rows first (only the `nodes` non-zero rows), then columns.
    torch::Tensor spec = torch::fft::fft(torch::fft::rfft(charges, fft_n, -1), fft_n, -2);
    spec = spec * kernel_hat;
    const torch::Tensor pot =
        torch::fft::irfft(torch::fft::ifft(spec, fft_n, -2).narrow(-2, 0, nodes), fft_n, -1)
            .narrow(-1, 0, nodes)
            .contiguous();
    const double* pp = pot.data_ptr<double>();

    // Gather per point.
    std::vector<double> z(un, 0.0);
    at::parallel_for(0, n, 1024, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            const auto ui = static_cast<std::size_t>(i);
            const double* wx = weights_.data() + 6 * ui;
            const double* wy = wx + 3;
            const std::int64_t r0 = kNodesPerBox * box_[2 * ui + 1];
            const std::int64_t c0 = kNodesPerBox * box_[2 * ui];
            double phi[kKernels] = {0.0, 0.0, 0.0};
            for (std::int64_t a = 0; a < 3; ++a) {
                for (std::int64_t bb = 0; bb < 3; ++bb) {
                    const double w = wy[a] * wx[bb];
                    const auto cell = static_cast<std::size_t>((r0 + a) * nodes + c0 + bb);
                    for (std::size_t k = 0; k < kKernels; ++k) phi[k] += w * pp[k * cells + cell];
                }
            }
            neg[2 * i] = phi[1];
            neg[2 * i + 1] = phi[2];
            z[ui] = phi[0] - 1.0;
        }
    });
    double zsum = 0.0;
    for (const double v : z) zsum += v;
    return zsum;
}

} // namespace sp::tsne_detail
