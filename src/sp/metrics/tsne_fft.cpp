// FFT-accelerated interpolation of the t-SNE repulsion (FIt-SNE; Linderman et al. 2019, Nat.
// Methods 16:243). The map's bounding square is cut into boxes of width 1 (see box_width), each
// with 3 equispaced interpolation nodes; a unit charge per point is spread to the nodes with
// quadratic Lagrange weights, convolved on the node grid by FFT (zero-padded to twice the grid, so
// the circular convolution is the linear one) with three kernels, and interpolated back:
//   K(d) = 1 / (1 + |d|^2)             -> sum_j w_ij (Z, with j = i contributing 1, removed)
//   K(d)^2 d_x, K(d)^2 d_y             -> sum_j w_ij^2 (y_i - y_j), the force itself.
// Unlike FIt-SNE's charges (1, x, y, |y|^2) with one kernel, nothing cancels: the force error
// stays relative to the force, not to |y| times the potential.
#include "sp/metrics/tsne_repulsion.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>

namespace sp::tsne_detail {
namespace {

// FIt-SNE uses at least 50 boxes; accuracy only needs boxes of width <= 1 (the kernel's scale),
// and a small map (early iterations, small n) would pay for a grid far finer than that. Measured
// against the exact sum on a 3,000-point map 80 units wide: RMS force error 1.6%, Z 2.5e-4.
constexpr std::int64_t kMinBoxes = 10;
// At most this many boxes per side (FFT grid 1536^2): a map wider than 256 units (a learning rate
// far too large for a small n) gets wider boxes, less accurate but bounded in time and memory.
constexpr std::int64_t kMaxBoxes = 256;
constexpr std::int64_t kNodesPerBox = 3;
constexpr std::int64_t kKernels = 3;
// The 1-D FFT passes (LibTorch's run on one thread) are split into fixed slices of rows or
// columns, run in parallel: 2 per kNodesPerSlicePair nodes a side (each LibTorch call costs ~10 us
// besides its transforms, which is most of a small grid's time), at least 2 and at most kSlices.
// The count depends on the grid only, and the slicing does not change the transforms.
constexpr std::int64_t kSlices = 8;
constexpr std::int64_t kNodesPerSlicePair = 96;

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

namespace {

/// Box width: 1 (the kernel's scale) while the map spans kMinBoxes..kMaxBoxes units, else a power
/// of two that keeps the box count in range. A small set of widths, so the kernel's spectrum is
/// reused across iterations (it depends on the width and the box count only).
double box_width(double side) {
    double box = 1.0;
    while (side < box * static_cast<double>(kMinBoxes)) box /= 2.0;
    while (side > box * static_cast<double>(kMaxBoxes)) box *= 2.0;
    return box;
}

/// rfft2 of the three kernels on the grid of `boxes` boxes of width `box`, as complex float.
void kernel_spectrum(std::int64_t boxes, double box, std::vector<std::complex<float>>& out) {
    const std::int64_t nodes = kNodesPerBox * boxes;
    const std::int64_t fft_n = 2 * nodes;
    const double h = box / static_cast<double>(kNodesPerBox);
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
    // In double, then stored as complex float: the products and transforms per iteration are in
    // float (relative error ~1e-6 of the largest potential, far below the interpolation's).
    const torch::Tensor hat = torch::fft::rfft2(kernels).to(torch::kComplexFloat).contiguous();
    const auto* hp = reinterpret_cast<const std::complex<float>*>(hat.data_ptr());
    out.assign(hp, hp + hat.numel());
}

} // namespace

namespace {

/// The interpolation grid of one iteration: `boxes` boxes of width `box` per side from the map's
/// lower corner (lo_x, lo_y), 3 nodes a box `h` apart, FFT size fft_n = 2 x nodes.
struct FftGrid {
    double lo_x = 0.0;
    double lo_y = 0.0;
    double box = 0.0;
    double h = 0.0;
    std::int64_t boxes = 0;
    std::int64_t nodes = 0;
    std::int64_t fft_n = 0;
    std::size_t cells = 0; ///< nodes^2
};

FftGrid fft_grid(const double* y, std::int64_t n) {
    const MapBounds bounds = map_bounds(y, n);
    FftGrid g;
    g.lo_x = bounds.lo_x;
    g.lo_y = bounds.lo_y;
    const double side =
        std::max({bounds.hi_x - bounds.lo_x, bounds.hi_y - bounds.lo_y, 1e-12}) * (1.0 + 1e-9);
    g.box = box_width(side);
    // Grid of 3 * boxes nodes per side, FFT size 6 * boxes: boxes is 2,3,5-smooth.
    g.boxes = smooth_at_least(static_cast<std::int64_t>(std::ceil(side / g.box)));
    g.nodes = kNodesPerBox * g.boxes;
    g.fft_n = 2 * g.nodes;
    g.h = g.box / static_cast<double>(kNodesPerBox);
    g.cells = static_cast<std::size_t>(g.nodes * g.nodes);
    return g;
}

/// Per point: its box (bx, by) into `box_of` (2 per point) and 3 + 3 Lagrange weights into
/// `weights` (6 per point).
void interpolation_weights(const double* y, std::int64_t n, const FftGrid& g,
                           std::vector<std::int64_t>& box_of, std::vector<double>& weights) {
    const auto un = static_cast<std::size_t>(n);
    box_of.resize(2 * un);
    weights.resize(6 * un);
    at::parallel_for(0, n, 1024, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            const double lx[2] = {y[2 * i] - g.lo_x, y[2 * i + 1] - g.lo_y};
            for (int c = 0; c < 2; ++c) {
                const auto bi = std::clamp<std::int64_t>(
                    static_cast<std::int64_t>(std::floor(lx[c] / g.box)), 0, g.boxes - 1);
                const double u = lx[c] / g.h - static_cast<double>(kNodesPerBox * bi);
                const auto w = lagrange(u);
                box_of[2 * static_cast<std::size_t>(i) + static_cast<std::size_t>(c)] = bi;
                for (std::size_t s = 0; s < 3; ++s)
                    weights[6 * static_cast<std::size_t>(i) + 3 * static_cast<std::size_t>(c) + s] =
                        w[s];
            }
        }
    });
}

/// The unit charges spread onto the nodes. The points are bucketed by box row (a counting sort,
/// in point order within a row, into `order` with bounds `row_start`); box row r writes only node
/// rows 3r .. 3r + 2, so box rows are spread in parallel onto the one grid `sums`, each cell summed
/// in point order. Then `charges` = the sums as float.
void spread_charges(std::int64_t n, const FftGrid& g, const std::vector<std::int64_t>& box_of,
                    const std::vector<double>& weights, std::vector<std::int64_t>& order,
                    std::vector<std::int64_t>& row_start, std::vector<double>& sums,
                    std::vector<float>& charges) {
    const auto un = static_cast<std::size_t>(n);
    const auto boxes = static_cast<std::size_t>(g.boxes);
    row_start.assign(boxes + 1, 0);
    for (std::size_t i = 0; i < un; ++i)
        ++row_start[static_cast<std::size_t>(box_of[2 * i + 1]) + 1];
    for (std::size_t r = 0; r < boxes; ++r) row_start[r + 1] += row_start[r];
    order.resize(un);
    {
        std::vector<std::int64_t> fill(row_start.begin(), row_start.end() - 1);
        for (std::size_t i = 0; i < un; ++i)
            order[static_cast<std::size_t>(fill[static_cast<std::size_t>(box_of[2 * i + 1])]++)] =
                static_cast<std::int64_t>(i);
    }
    const std::size_t cells = g.cells;
    sums.assign(cells, 0.0);
    at::parallel_for(0, g.boxes, 1, [&](std::int64_t rb, std::int64_t re) {
        for (auto r = static_cast<std::size_t>(rb); r < static_cast<std::size_t>(re); ++r) {
            for (auto s = row_start[r]; s < row_start[r + 1]; ++s) {
                const auto ui = static_cast<std::size_t>(order[static_cast<std::size_t>(s)]);
                const double* wx = weights.data() + 6 * ui;
                const double* wy = wx + 3;
                const std::int64_t r0 = kNodesPerBox * box_of[2 * ui + 1];
                const std::int64_t c0 = kNodesPerBox * box_of[2 * ui];
                for (std::int64_t a = 0; a < 3; ++a) {
                    double* row = sums.data() + static_cast<std::size_t>((r0 + a) * g.nodes + c0);
                    for (std::size_t bb = 0; bb < 3; ++bb) row[bb] += wy[a] * wx[bb];
                }
            }
        }
    });
    charges.resize(cells);
    at::parallel_for(
        0, static_cast<std::int64_t>(cells), 4096, [&](std::int64_t b, std::int64_t e) {
            for (auto t = static_cast<std::size_t>(b); t < static_cast<std::size_t>(e); ++t)
                charges[t] = static_cast<float>(sums[t]);
        });
}

/// fn(begin, count) on `slices` fixed slices of [0, total), the slices run in parallel.
template <typename Fn> void for_slices(std::int64_t total, std::int64_t slices, const Fn& fn) {
    at::parallel_for(0, slices, 1, [&](std::int64_t sb, std::int64_t se) {
        for (std::int64_t s = sb; s < se; ++s) {
            const std::int64_t b = total * s / slices;
            const std::int64_t e = total * (s + 1) / slices;
            if (e > b) fn(b, e - b);
        }
    });
}

/// The three potentials (kKernels x nodes x nodes floats) of the charges, by FFT convolution
/// with the kernels' spectrum `kernel_hat` (kKernels x fft_n x (fft_n / 2 + 1)). Pruned: only the
/// `nodes` non-zero rows and columns of the zero-padded grid are transformed in, and only `nodes`
/// rows and columns come out; each pass runs over fixed slices of rows or columns: rfft of the
/// rows, fft of the columns, product with the kernels, inverse fft of the columns, inverse rfft
/// of the rows.
torch::Tensor convolve(const FftGrid& g, std::vector<float>& charges_buf,
                       std::vector<std::complex<float>>& kernel_hat_buf) {
    const std::int64_t nodes = g.nodes;
    const std::int64_t fft_n = g.fft_n;
    const std::int64_t freqs = fft_n / 2 + 1;
    const torch::Tensor kernel_hat =
        torch::from_blob(kernel_hat_buf.data(), {kKernels, fft_n, freqs}, torch::kComplexFloat);
    const torch::Tensor charges =
        torch::from_blob(charges_buf.data(), {nodes, nodes}, torch::kFloat);
    const torch::Tensor rows = torch::empty({nodes, freqs}, torch::kComplexFloat);
    const torch::Tensor mixed = torch::empty({kKernels, nodes, freqs}, torch::kComplexFloat);
    const torch::Tensor pot = torch::empty({kKernels, nodes, nodes}, torch::kFloat);
    const std::int64_t slices =
        2 * std::clamp<std::int64_t>(nodes / kNodesPerSlicePair, 1, kSlices / 2);
    for_slices(nodes, slices, [&](std::int64_t b, std::int64_t m) {
        rows.narrow(0, b, m).copy_(torch::fft::rfft(charges.narrow(0, b, m), fft_n, -1));
    });
    for_slices(freqs, slices, [&](std::int64_t b, std::int64_t m) {
        const torch::Tensor spec = torch::fft::fft(rows.narrow(1, b, m), fft_n, 0);
        const torch::Tensor prod = spec.unsqueeze(0) * kernel_hat.narrow(2, b, m);
        mixed.narrow(2, b, m).copy_(torch::fft::ifft(prod, fft_n, 1).narrow(1, 0, nodes));
    });
    for_slices(nodes, slices, [&](std::int64_t b, std::int64_t m) {
        pot.narrow(1, b, m).copy_(
            torch::fft::irfft(mixed.narrow(1, b, m), fft_n, -1).narrow(-1, 0, nodes));
    });
    return pot;
}

/// The potentials interpolated back to each point: the force into neg, sum_j w_ij into z (its
/// own node's 1 removed); returns the z summed in point order.
double gather(std::int64_t n, const FftGrid& g, const torch::Tensor& pot,
              const std::vector<std::int64_t>& box_of, const std::vector<double>& weights,
              std::vector<double>& z, double* neg) {
    const float* pp = pot.data_ptr<float>();
    const std::size_t cells = g.cells;
    z.resize(static_cast<std::size_t>(n));
    at::parallel_for(0, n, 1024, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            const auto ui = static_cast<std::size_t>(i);
            const double* wx = weights.data() + 6 * ui;
            const double* wy = wx + 3;
            const std::int64_t r0 = kNodesPerBox * box_of[2 * ui + 1];
            const std::int64_t c0 = kNodesPerBox * box_of[2 * ui];
            // Three sums in registers (not an array, which the compiler kept in memory).
            double phi0 = 0.0;
            double phi1 = 0.0;
            double phi2 = 0.0;
            for (std::int64_t a = 0; a < 3; ++a) {
                const auto row = static_cast<std::size_t>((r0 + a) * g.nodes + c0);
                const float* p0 = pp + row;
                const float* p1 = p0 + cells;
                const float* p2 = p1 + cells;
                for (std::size_t bb = 0; bb < 3; ++bb) {
                    const double w = wy[a] * wx[bb];
                    phi0 += w * static_cast<double>(p0[bb]);
                    phi1 += w * static_cast<double>(p1[bb]);
                    phi2 += w * static_cast<double>(p2[bb]);
                }
            }
            neg[2 * i] = phi1;
            neg[2 * i + 1] = phi2;
            z[ui] = phi0 - 1.0;
        }
    });
    double zsum = 0.0;
    for (const double v : z) zsum += v;
    return zsum;
}

} // namespace

double FftRepulsion::operator()(const double* y, std::int64_t n, double* neg) {
    torch::NoGradGuard no_grad;
    const FftGrid g = fft_grid(y, n);
    // Measured on 2 cores: one FFT iteration costs about as much as 40 fft_n^2 exact pairs.
    constexpr double kGridCostPerCell = 40.0;
    if (exact_when_cheaper_ && static_cast<double>(n) * static_cast<double>(n) <=
                                   kGridCostPerCell * static_cast<double>(g.fft_n * g.fft_n))
        return repulsion_exact(y, n, neg);
    interpolation_weights(y, n, g, box_, weights_);
    spread_charges(n, g, box_, weights_, order_, row_start_, sums_, charges_);
    if (g.boxes != kernel_boxes_ || g.box != kernel_box_) {
        kernel_spectrum(g.boxes, g.box, kernel_hat_);
        kernel_boxes_ = g.boxes;
        kernel_box_ = g.box;
    }
    const torch::Tensor pot = convolve(g, charges_, kernel_hat_);
    return gather(n, g, pot, box_, weights_, z_, neg);
}

} // namespace sp::tsne_detail
