#include "sp/metrics/clusters.hpp"

#include "sp/util/error.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace sp {

namespace {

/// Samples per class; throws DataError for a label out of range or a bad number of classes.
std::vector<std::int64_t> class_counts(const char* what, std::int64_t n, std::int64_t d,
                                       const std::int64_t* labels, std::int64_t classes) {
    const std::string where = std::string(what) + ": ";
    if (n < 0 || d < 1) {
        throw DataError(where + "bad embeddings shape " + std::to_string(n) + " x " +
                        std::to_string(d));
    }
    if (classes < 1)
        throw DataError(where + "number of classes must be >= 1, got " + std::to_string(classes));
    std::vector<std::int64_t> count(static_cast<std::size_t>(classes), 0);
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t c = labels[i];
        if (c < 0 || c >= classes) {
            throw DataError(where + "label " + std::to_string(c) + " of sample " +
                            std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
        }
        ++count[static_cast<std::size_t>(c)];
    }
    const auto present = std::count_if(count.begin(), count.end(), [](auto c) { return c > 0; });
    if (present < 2 || present > n - 1) {
        throw DataError(where + std::to_string(present) + " classes present among " +
                        std::to_string(n) +
                        " samples; need 2 to n_samples - 1 (as scikit-learn requires)");
    }
    return count;
}

/// Dot product summed in a fixed order: eight interleaved partial sums, then a fixed tree.
double dot(const double* p, const double* q, std::size_t len) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::size_t k = 0;
    for (; k + 8 <= len; k += 8) {
        for (std::size_t l = 0; l < 8; ++l) acc[l] += p[k + l] * q[k + l];
    }
    for (std::size_t l = 0; k < len; ++k, ++l) acc[l] += p[k] * q[k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/// Rows of `x` as a double tensor (n x d), contiguous.
torch::Tensor to_double(const float* x, std::int64_t n, std::int64_t d) {
    // from_blob does not write through its pointer; the copy to double owns its memory.
    auto view = torch::from_blob(const_cast<float*>(x), {n, d}, torch::kFloat32);
    return view.to(torch::kFloat64).contiguous();
}

} // namespace

Silhouette silhouette(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                      std::int64_t classes, Distance metric, const ClusterOptions& opt) {
    const auto count = class_counts("silhouette", n, d, labels, classes);
    if (opt.chunk < 1) {
        throw DataError("silhouette: chunk must be >= 1, got " + std::to_string(opt.chunk));
    }
    const auto K = static_cast<std::size_t>(classes);
    const auto N = static_cast<std::size_t>(n);
    const auto D = static_cast<std::size_t>(d);
    torch::NoGradGuard no_grad;
    torch::Tensor rows = to_double(x, n, d);
    double* r = rows.data_ptr<double>();

    // Squared norms (euclidean) or unit rows (cosine), each summed in a fixed order.
    std::vector<double> sq(N, 0.0);
    for (std::size_t i = 0; i < N; ++i) sq[i] = dot(r + i * D, r + i * D, D);
    if (metric == Distance::cosine) {
        // sklearn's normalize: a zero row is divided by 1 and stays zero.
        for (std::size_t i = 0; i < N; ++i) {
            const double norm = std::sqrt(sq[i]);
            const double scale = norm == 0.0 ? 1.0 : norm;
            for (std::size_t k = 0; k < D; ++k) r[i * D + k] /= scale;
        }
    }

    std::vector<double> s(N, 0.0);
    std::vector<double> gram(static_cast<std::size_t>(std::min(n, opt.chunk)) * N);
    for (std::int64_t start = 0; start < n; start += opt.chunk) {
        const std::int64_t stop = std::min(n, start + opt.chunk);
        // The dot products in a fixed order (not torch::mm, whose rounding depends on the block
        // shape): each block's rows are filled independently, so threads and chunk size agree.
        at::parallel_for(start, stop, 1, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i) {
                const double* ri = r + static_cast<std::size_t>(i) * D;
                double* gi = gram.data() + static_cast<std::size_t>(i - start) * N;
                for (std::size_t j = 0; j < N; ++j) gi[j] = dot(ri, r + j * D, D);
            }
        });
        const double* g = gram.data();
        at::parallel_for(start, stop, 1, [&](std::int64_t begin, std::int64_t end) {
            std::vector<double> sums(K);
            for (std::int64_t i = begin; i < end; ++i) {
                const auto iu = static_cast<std::size_t>(i);
                const double* gi = g + static_cast<std::size_t>(i - start) * N;
                std::fill(sums.begin(), sums.end(), 0.0);
                for (std::size_t j = 0; j < N; ++j) {
                    double dist = 0.0;
                    if (j != iu) {
                        if (metric == Distance::euclidean) {
                            // sklearn's order: -2 xy + |x|^2 + |y|^2, clamped at 0.
                            dist = std::sqrt(std::max(0.0, -2.0 * gi[j] + sq[iu] + sq[j]));
                        } else {
                            dist = std::clamp(1.0 - gi[j], 0.0, 2.0);
                        }
                    }
                    sums[static_cast<std::size_t>(labels[j])] += dist;
                }
                const auto own = static_cast<std::size_t>(labels[i]);
                if (count[own] <= 1) {
                    s[iu] = 0.0;
                    continue;
                }
                const double a = sums[own] / static_cast<double>(count[own] - 1);
                double b = std::numeric_limits<double>::infinity();
                for (std::size_t k = 0; k < K; ++k) {
                    if (k == own || count[k] == 0) continue;
                    b = std::min(b, sums[k] / static_cast<double>(count[k]));
                }
                const double denom = std::max(a, b);
                s[iu] = denom > 0.0 ? (b - a) / denom : 0.0;
            }
        });
    }

    Silhouette out;
    std::vector<double> class_sum(K, 0.0);
    double total = 0.0;
    for (std::size_t i = 0; i < N; ++i) {
        total += s[i];
        class_sum[static_cast<std::size_t>(labels[i])] += s[i];
    }
    out.mean = total / static_cast<double>(n);
    out.per_class.resize(K);
    for (std::size_t k = 0; k < K; ++k) {
        out.per_class[k] = count[k] > 0 ? class_sum[k] / static_cast<double>(count[k])
                                        : std::numeric_limits<double>::quiet_NaN();
    }
    if (opt.per_sample) out.samples = std::move(s);
    return out;
}

double davies_bouldin(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                      std::int64_t classes) {
    const auto count = class_counts("davies_bouldin", n, d, labels, classes);
    const auto N = static_cast<std::size_t>(n);
    const auto D = static_cast<std::size_t>(d);
    std::vector<std::size_t> present;
    for (std::size_t k = 0; k < count.size(); ++k) {
        if (count[k] > 0) present.push_back(k);
    }
    std::vector<double> centroid(count.size() * D, 0.0);
    for (std::size_t i = 0; i < N; ++i) {
        double* c = &centroid[static_cast<std::size_t>(labels[i]) * D];
        for (std::size_t k = 0; k < D; ++k) c[k] += static_cast<double>(x[i * D + k]);
    }
    for (std::size_t k : present) {
        for (std::size_t j = 0; j < D; ++j) centroid[k * D + j] /= static_cast<double>(count[k]);
    }
    auto distance = [D](const double* p, const double* q) {
        double s = 0.0;
        for (std::size_t k = 0; k < D; ++k) s += (p[k] - q[k]) * (p[k] - q[k]);
        return std::sqrt(s);
    };
    std::vector<double> intra(count.size(), 0.0);
    std::vector<double> point(D);
    for (std::size_t i = 0; i < N; ++i) {
        const auto c = static_cast<std::size_t>(labels[i]);
        for (std::size_t k = 0; k < D; ++k) point[k] = static_cast<double>(x[i * D + k]);
        intra[c] += distance(point.data(), &centroid[c * D]);
    }
    for (std::size_t k : present) intra[k] /= static_cast<double>(count[k]);

    // sklearn returns 0 when all intra-class or all centroid distances are ~0 (np.allclose).
    const double atol = 1e-8;
    bool intra_zero = true;
    bool centroid_zero = true;
    std::vector<double> cdist(present.size() * present.size(), 0.0);
    for (std::size_t a = 0; a < present.size(); ++a) {
        if (std::abs(intra[present[a]]) > atol) intra_zero = false;
        for (std::size_t b = 0; b < present.size(); ++b) {
            if (a == b) continue;
            const double dist = distance(&centroid[present[a] * D], &centroid[present[b] * D]);
            cdist[a * present.size() + b] = dist;
            if (dist > atol) centroid_zero = false;
        }
    }
    if (intra_zero || centroid_zero) return 0.0;
    double total = 0.0;
    for (std::size_t a = 0; a < present.size(); ++a) {
        double worst = 0.0;
        for (std::size_t b = 0; b < present.size(); ++b) {
            const double dist = cdist[a * present.size() + b];
            if (dist == 0.0) continue; // sklearn: zero distance -> inf -> ratio 0
            worst = std::max(worst, (intra[present[a]] + intra[present[b]]) / dist);
        }
        total += worst;
    }
    return total / static_cast<double>(present.size());
}

} // namespace sp
