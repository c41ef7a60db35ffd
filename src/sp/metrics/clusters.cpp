#include "sp/metrics/clusters.hpp"

#include "sp/metrics/fixed_dot.hpp"
#include "sp/metrics/torch_threads.hpp"
#include "sp/metrics/undefined.hpp"
#include "sp/util/error.hpp"
#include "sp/util/signals.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
        throw UndefinedMetric(where + std::to_string(present) + " classes present among " +
                              std::to_string(n) +
                              " samples; need 2 to n_samples - 1 (as scikit-learn requires)");
    }
    return count;
}

/// Rows of `x` as a double tensor (n x d), contiguous.
torch::Tensor to_double(const float* x, std::int64_t n, std::int64_t d) {
    // from_blob does not write through its pointer; the copy to double owns its memory.
    auto view = torch::from_blob(const_cast<float*>(x), {n, d}, torch::kFloat32);
    return view.to(torch::kFloat64).contiguous();
}

} // namespace

namespace {

/// Per-sample silhouettes from each sample's summed distances to every class (own class without
/// the sample itself), then the means.
Silhouette finish_silhouette(const std::vector<double>& sums,
                             const std::vector<std::int64_t>& count, const std::int64_t* labels,
                             std::size_t N, bool per_sample) {
    const std::size_t K = count.size();
    std::vector<double> s(N, 0.0);
    at::parallel_for(0, static_cast<std::int64_t>(N), 256, [&](std::int64_t b, std::int64_t e) {
        for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i) {
            const double* si = &sums[i * K];
            const auto own = static_cast<std::size_t>(labels[i]);
            if (count[own] <= 1) continue; // alone in its class: 0, as sklearn
            const double a = si[own] / static_cast<double>(count[own] - 1);
            double bmin = std::numeric_limits<double>::infinity();
            for (std::size_t k = 0; k < K; ++k) {
                if (k == own || count[k] == 0) continue;
                bmin = std::min(bmin, si[k] / static_cast<double>(count[k]));
            }
            const double denom = std::max(a, bmin);
            s[i] = denom > 0.0 ? (bmin - a) / denom : 0.0;
        }
    });
    Silhouette out;
    std::vector<double> class_sum(K, 0.0);
    double total = 0.0;
    for (std::size_t i = 0; i < N; ++i) {
        total += s[i];
        class_sum[static_cast<std::size_t>(labels[i])] += s[i];
    }
    out.mean = total / static_cast<double>(N);
    out.per_class.resize(K);
    for (std::size_t k = 0; k < K; ++k) {
        out.per_class[k] = count[k] > 0 ? class_sum[k] / static_cast<double>(count[k])
                                        : std::numeric_limits<double>::quiet_NaN();
    }
    if (per_sample) out.samples = std::move(s);
    return out;
}

/// The reference path: every distance in double, dot products in a fixed order. O(N^2 d).
std::vector<double> class_sums_exact(const float* x, std::size_t N, std::size_t D,
                                     const std::int64_t* labels, std::size_t K, Distance metric,
                                     std::int64_t chunk) {
    torch::Tensor rows = to_double(x, static_cast<std::int64_t>(N), static_cast<std::int64_t>(D));
    double* r = rows.data_ptr<double>();
    std::vector<double> sq(N, 0.0);
    for (std::size_t i = 0; i < N; ++i) sq[i] = detail::fixed_dot(r + i * D, r + i * D, D);
    if (metric == Distance::cosine) {
        // sklearn's normalize: a zero row is divided by 1 and stays zero.
        for (std::size_t i = 0; i < N; ++i) {
            const double norm = std::sqrt(sq[i]);
            const double scale = norm == 0.0 ? 1.0 : norm;
            for (std::size_t k = 0; k < D; ++k) r[i * D + k] /= scale;
        }
    }
    const auto n = static_cast<std::int64_t>(N);
    std::vector<double> sums(N * K, 0.0);
    std::vector<double> gram(static_cast<std::size_t>(std::min(n, chunk)) * N);
    for (std::int64_t start = 0; start < n; start += chunk) {
        throw_if_stop_requested();
        const std::int64_t stop = std::min(n, start + chunk);
        at::parallel_for(start, stop, 1, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i) {
                const auto iu = static_cast<std::size_t>(i);
                const double* ri = r + iu * D;
                double* gi = gram.data() + static_cast<std::size_t>(i - start) * N;
                for (std::size_t j = 0; j < N; ++j) gi[j] = detail::fixed_dot(ri, r + j * D, D);
                double* si = &sums[iu * K];
                for (std::size_t j = 0; j < N; ++j) {
                    if (j == iu) continue;
                    // sklearn's order: -2 xy + |x|^2 + |y|^2, clamped at 0.
                    const double dist =
                        metric == Distance::euclidean
                            ? std::sqrt(std::max(0.0, -2.0 * gi[j] + sq[iu] + sq[j]))
                            : std::clamp(1.0 - gi[j], 0.0, 2.0);
                    si[static_cast<std::size_t>(labels[j])] += dist;
                }
            }
        });
    }
    return sums;
}

/// Cosine distance in O(N K d): with unit rows u_i = x_i / |x_i| (a zero row stays zero), the
/// summed distance from i to class k is n_k - u_i . S_k, S_k the sum of class k's unit rows; the
/// own class drops the sample itself (distance 0). Exact up to rounding; the per-pair clip of
/// 1 - cos into [0, 2] is not applied (it only ever removes rounding, below 1e-15). The unit rows
/// are never stored: S_k is summed from x_i / |x_i| and u_i . S_k is (x_i . S_k) / |x_i|, all in
/// double, so the float input is read twice and nothing of size N x d is written. Every sum runs
/// in a fixed order (S by columns, each over the rows in order), whatever the thread count.
std::vector<double> class_sums_cosine(const float* x, std::size_t N, std::size_t D,
                                      const std::int64_t* labels,
                                      const std::vector<std::int64_t>& count) {
    const std::size_t K = count.size();
    const auto n = static_cast<std::int64_t>(N);
    std::vector<double> norm(N);
    at::parallel_for(0, n, 256, [&](std::int64_t b, std::int64_t e) {
        for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i)
            norm[i] = std::sqrt(detail::fixed_dot(x + i * D, x + i * D, D));
    });
    // S (K x d): columns split among threads, each column summed over the rows in order.
    std::vector<double> class_sum(K * D, 0.0);
    at::parallel_for(0, static_cast<std::int64_t>(D), 16, [&](std::int64_t c0, std::int64_t c1) {
        const auto b = static_cast<std::size_t>(c0);
        const auto e = static_cast<std::size_t>(c1);
        for (std::size_t i = 0; i < N; ++i) {
            if (norm[i] == 0.0) continue;
            detail::add_scaled(&class_sum[static_cast<std::size_t>(labels[i]) * D + b],
                               x + i * D + b, 1.0 / norm[i], e - b);
        }
    });
    std::vector<double> sums(N * K, 0.0);
    at::parallel_for(0, n, 64, [&](std::int64_t b, std::int64_t e) {
        for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i) {
            const auto own = static_cast<std::size_t>(labels[i]);
            const double inv = norm[i] > 0.0 ? 1.0 / norm[i] : 0.0;
            // |u_i|^2: 1 up to rounding, 0 for a zero row.
            const double self = norm[i] > 0.0 ? (norm[i] * inv) * (norm[i] * inv) : 0.0;
            for (std::size_t c = 0; c < K; ++c) {
                if (count[c] == 0) continue;
                const double sim = detail::fixed_dot(x + i * D, &class_sum[c * D], D) * inv;
                sums[i * K + c] = c == own ? static_cast<double>(count[c] - 1) - (sim - self)
                                           : static_cast<double>(count[c]) - sim;
            }
        }
    });
    return sums;
}

/// Squared euclidean distance of two float rows, in double, in a fixed order. tsne.cpp has a
/// sibling that adds the tail and the four partial sums in another order; each order is part of
/// its metric's recorded results, so the two stay apart.
double squared_distance(const float* p, const float* q, std::size_t len) {
    double acc[4] = {0, 0, 0, 0};
    std::size_t k = 0;
    for (; k + 4 <= len; k += 4) {
        for (std::size_t l = 0; l < 4; ++l) {
            const double diff = static_cast<double>(p[k + l]) - static_cast<double>(q[k + l]);
            acc[l] += diff * diff;
        }
    }
    for (std::size_t l = 0; k < len; ++k, ++l) {
        const double diff = static_cast<double>(p[k]) - static_cast<double>(q[k]);
        acc[l] += diff * diff;
    }
    return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

constexpr double kRefine = 1.0 / 32.0; ///< recompute in double below this share of |x|^2 + |y|^2

/// One row of a tile: dist[j] = sqrt(max(0, sqi + sqc[j] - 2 g[j])) for j in [lo, w), in double;
/// returns whether some pair fell under the refinement threshold. The SSE2 and scalar branches
/// give the same bits (the same correctly rounded operations per element).
bool tile_row_distances(const float* g, double sqi, const double* sqc, std::size_t lo,
                        std::size_t w, double* dist) {
    std::size_t j = lo;
    bool flagged = false;
#if defined(__SSE2__)
    const __m128d vsqi = _mm_set1_pd(sqi);
    const __m128d vref = _mm_set1_pd(kRefine);
    const __m128d zero = _mm_setzero_pd();
    __m128d flags = _mm_setzero_pd();
    for (; j + 2 <= w; j += 2) {
        const __m128d prod = _mm_cvtps_pd(
            _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(g + j))));
        const __m128d scale = _mm_add_pd(vsqi, _mm_loadu_pd(sqc + j));
        const __m128d d2 = _mm_sub_pd(scale, _mm_add_pd(prod, prod));
        flags = _mm_or_pd(flags, _mm_cmplt_pd(d2, _mm_mul_pd(vref, scale)));
        _mm_storeu_pd(dist + j, _mm_sqrt_pd(_mm_max_pd(d2, zero)));
    }
    flagged = _mm_movemask_pd(flags) != 0;
#endif
    for (; j < w; ++j) {
        const double scale = sqi + sqc[j];
        const double d2 = scale - 2.0 * static_cast<double>(g[j]);
        flagged = flagged || d2 < kRefine * scale;
        dist[j] = std::sqrt(d2 > 0.0 ? d2 : 0.0);
    }
    return flagged;
}

/// sum of dist[a, b) in four interleaved partial sums (element a + 4q + l to sum l), combined as
/// (s0 + s2) + (s1 + s3); meanwhile col[j] += dist[j]. Same bits with or without SSE2.
double range_sum_and_add(const double* dist, double* col, std::size_t a, std::size_t b) {
    double s[4] = {0, 0, 0, 0};
    std::size_t j = a;
#if defined(__SSE2__)
    __m128d s01 = _mm_setzero_pd();
    __m128d s23 = _mm_setzero_pd();
    for (; j + 4 <= b; j += 4) {
        const __m128d v0 = _mm_loadu_pd(dist + j);
        const __m128d v1 = _mm_loadu_pd(dist + j + 2);
        s01 = _mm_add_pd(s01, v0);
        s23 = _mm_add_pd(s23, v1);
        _mm_storeu_pd(col + j, _mm_add_pd(_mm_loadu_pd(col + j), v0));
        _mm_storeu_pd(col + j + 2, _mm_add_pd(_mm_loadu_pd(col + j + 2), v1));
    }
    _mm_storeu_pd(s, s01);
    _mm_storeu_pd(s + 2, s23);
#else
    for (; j + 4 <= b; j += 4) {
        for (std::size_t l = 0; l < 4; ++l) {
            s[l] += dist[j + l];
            col[j + l] += dist[j + l];
        }
    }
#endif
    for (std::size_t l = 0; j < b; ++j, ++l) {
        s[l] += dist[j];
        col[j] += dist[j];
    }
    return (s[0] + s[2]) + (s[1] + s[3]);
}

/// Euclidean distance, fast path. Samples are ordered by label (so that a class is a range of
/// columns), centred (distances do not change; cancellation in |x|^2 + |y|^2 - 2 x.y shrinks),
/// and the upper triangle is cut into tiles of `rows` x kColTile; each tile is one
/// single-threaded float32 GEMM whose output is turned at once, while in cache, into distances
/// (any pair with squared distance below kRefine x (|x|^2 + |y|^2), where the float products
/// could lose digits, is recomputed exactly in double, so duplicates are at distance 0), each
/// row's sums per column class (kept per tile) and each column's sums per row class (added to the
/// column's sums, the tiles of a row block having disjoint columns). After a row block, its rows'
/// per-tile sums are added in tile order. Every GEMM shape and every sum's order is fixed by
/// `rows` (`chunk`, or kRowTile) and kColTile, never by the thread count. Memory: one tile and
/// two rows of kColTile doubles per thread, rows x (tiles + K) row sums, the N x K sums.
/// The threads are OpenMP's (at::parallel_for): this file must be compiled with OpenMP
/// (src/CMakeLists.txt), or every loop here runs on the calling thread.
std::vector<double> class_sums_euclidean(const float* x, std::size_t N, std::size_t D,
                                         const std::int64_t* labels, std::size_t K,
                                         std::int64_t chunk) {
    constexpr std::int64_t kRowTile = 256; // 256 x 512 floats (512 KiB): fastest measured
    constexpr std::int64_t kColTile = 512;
    const auto n = static_cast<std::int64_t>(N);
    const auto d = static_cast<std::int64_t>(D);
    // Stable counting sort by label: sorted position p holds sample order[p], of class cls[p].
    std::vector<std::size_t> class_start(K + 1, 0);
    for (std::size_t i = 0; i < N; ++i) ++class_start[static_cast<std::size_t>(labels[i]) + 1];
    for (std::size_t k = 0; k < K; ++k) class_start[k + 1] += class_start[k];
    std::vector<std::size_t> order(N);
    std::vector<std::size_t> cls(N);
    {
        std::vector<std::size_t> next(class_start.begin(), class_start.end() - 1);
        for (std::size_t i = 0; i < N; ++i) {
            const auto k = static_cast<std::size_t>(labels[i]);
            cls[next[k]] = k;
            order[next[k]++] = i;
        }
    }
    std::vector<double> mean(D, 0.0);
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t k = 0; k < D; ++k) mean[k] += static_cast<double>(x[i * D + k]);
    }
    for (auto& m : mean) m /= static_cast<double>(N);
    torch::Tensor centred = torch::empty({n, d}, torch::kFloat32);
    float* c = centred.data_ptr<float>();
    std::vector<double> sq(N);
    at::parallel_for(0, n, 64, [&](std::int64_t b, std::int64_t e) {
        for (auto p = static_cast<std::size_t>(b); p < static_cast<std::size_t>(e); ++p) {
            const float* xi = x + order[p] * D;
            float* ci = c + p * D;
            for (std::size_t k = 0; k < D; ++k)
                ci[k] = static_cast<float>(static_cast<double>(xi[k]) - mean[k]);
            sq[p] = detail::fixed_dot(ci, ci, D);
        }
    });
    const std::int64_t rows = chunk > 0 ? chunk : kRowTile;
    std::vector<double> sums(N * K, 0.0);
    std::vector<double> row_part;
    for (std::int64_t start = 0; start < n; start += rows) {
        throw_if_stop_requested();
        const std::int64_t m = std::min(rows, n - start);
        const std::int64_t cols = n - start;
        const std::int64_t tiles = (cols + kColTile - 1) / kColTile;
        const auto ustart = static_cast<std::size_t>(start);
        const auto um = static_cast<std::size_t>(m);
        // Row sums of tile t: m x (classes its columns span), from row_off[t].
        std::vector<std::size_t> first_class(static_cast<std::size_t>(tiles));
        std::vector<std::size_t> span(static_cast<std::size_t>(tiles));
        std::vector<std::size_t> row_off(static_cast<std::size_t>(tiles) + 1, 0);
        for (std::size_t t = 0; t < static_cast<std::size_t>(tiles); ++t) {
            const std::size_t c0 = ustart + t * kColTile;
            const std::size_t c1 = std::min(N, c0 + kColTile);
            first_class[t] = cls[c0];
            span[t] = cls[c1 - 1] - cls[c0] + 1;
            row_off[t + 1] = row_off[t] + um * span[t];
        }
        row_part.assign(row_off.back(), 0.0);
        const torch::Tensor block_rows = centred.narrow(0, start, m);
        // Each thread takes the next tile until none is left: which thread computes a tile does
        // not change its bits, and a thread held up (a busy machine) holds up no other's tiles.
        std::atomic<std::int64_t> next_tile{0};
        const std::int64_t workers = std::min<std::int64_t>(tiles, at::get_num_threads());
        at::parallel_for(0, workers, 1, [&](std::int64_t, std::int64_t) {
            const detail::SerialBlas serial;
            const auto product = std::make_unique<float[]>(um * kColTile);
            std::vector<double> dist(kColTile);
            std::vector<double> col(kColTile, 0.0);
            for (std::int64_t next = next_tile++; next < tiles; next = next_tile++) {
                const auto t = static_cast<std::size_t>(next);
                const std::size_t c0 = ustart + t * kColTile;
                const std::size_t w = std::min<std::size_t>(kColTile, N - c0);
                torch::Tensor out = torch::from_blob(
                    product.get(), {m, static_cast<std::int64_t>(w)}, torch::kFloat32);
                torch::mm_out(
                    out, block_rows,
                    centred.narrow(0, static_cast<std::int64_t>(c0), static_cast<std::int64_t>(w))
                        .t());
                double* part = row_part.data() + row_off[t];
                const double* sqc = sq.data() + c0;
                // Adds the column sums of the rows of class `k` to the columns' sums.
                auto flush = [&](std::size_t k) {
                    for (std::size_t j = 0; j < w; ++j) {
                        sums[order[c0 + j] * K + k] += col[j];
                        col[j] = 0.0;
                    }
                };
                std::size_t row_class = cls[ustart];
                for (std::size_t r = 0; r < um; ++r) {
                    const std::size_t i = ustart + r;
                    if (cls[i] != row_class) {
                        flush(row_class);
                        row_class = cls[i];
                    }
                    const std::size_t lo = std::max(c0, i + 1) - c0;
                    if (lo >= w) continue;
                    const float* g = product.get() + r * w;
                    if (tile_row_distances(g, sq[i], sqc, lo, w, dist.data())) {
                        for (std::size_t j = lo; j < w; ++j) {
                            const double scale = sq[i] + sqc[j];
                            if (scale - 2.0 * static_cast<double>(g[j]) < kRefine * scale) {
                                dist[j] = std::sqrt(std::max(
                                    0.0, squared_distance(c + i * D, c + (c0 + j) * D, D)));
                            }
                        }
                    }
                    // Column classes in [lo, w): consecutive ranges of the sorted order.
                    for (std::size_t a = lo; a < w;) {
                        const std::size_t k = cls[c0 + a];
                        const std::size_t b = std::min(w, class_start[k + 1] - c0);
                        part[r * span[t] + (k - first_class[t])] =
                            range_sum_and_add(dist.data(), col.data(), a, b);
                        a = b;
                    }
                }
                flush(row_class);
            }
        });
        // Each row's sums over the block's tiles, in tile order (m x (tiles + K) additions: not
        // worth another parallel region).
        for (std::size_t r = 0; r < um; ++r) {
            double* si = &sums[order[ustart + r] * K];
            for (std::size_t t = 0; t < static_cast<std::size_t>(tiles); ++t) {
                const double* part = row_part.data() + row_off[t] + r * span[t];
                for (std::size_t k = 0; k < span[t]; ++k) si[first_class[t] + k] += part[k];
            }
        }
    }
    return sums;
}

} // namespace

Silhouette silhouette(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                      std::int64_t classes, Distance metric, const ClusterOptions& opt) {
    const auto count = class_counts("silhouette", n, d, labels, classes);
    if (opt.chunk < 0) {
        throw DataError("silhouette: chunk must be >= 0, got " + std::to_string(opt.chunk));
    }
    const auto K = static_cast<std::size_t>(classes);
    const auto N = static_cast<std::size_t>(n);
    const auto D = static_cast<std::size_t>(d);
    torch::NoGradGuard no_grad;
    std::vector<double> sums;
    if (opt.exact) {
        sums = class_sums_exact(x, N, D, labels, K, metric, opt.chunk > 0 ? opt.chunk : 1024);
    } else if (metric == Distance::cosine) {
        sums = class_sums_cosine(x, N, D, labels, count);
    } else {
        sums = class_sums_euclidean(x, N, D, labels, K, opt.chunk);
    }
    return finish_silhouette(sums, count, labels, N, opt.per_sample);
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
