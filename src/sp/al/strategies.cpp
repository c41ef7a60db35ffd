#include "sp/al/strategies.hpp"

#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace sp {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Rows per parallel block for the O(n k) score loops.
constexpr std::int64_t kScoreGrain = 512;
/// Pool rows per block of the k-center and k-means++ updates; the argmax is reduced over these
/// fixed blocks (not over workers) so its result does not depend on the thread count.
constexpr std::int64_t kBlockRows = 256;

std::size_t idx(std::int64_t i) { return static_cast<std::size_t>(i); }

void check_dims(const std::string& fn, std::int64_t n, std::int64_t cols, const char* cols_name,
                const void* data) {
    if (n < 0) throw DataError(fn + ": row count must be >= 0, got " + std::to_string(n));
    if (cols < 1) {
        throw DataError(fn + ": " + cols_name + " must be >= 1, got " + std::to_string(cols));
    }
    if (n > 0 && data == nullptr)
        throw DataError(fn + ": null data for " + std::to_string(n) + " rows");
}

void check_count(const std::string& fn, std::int64_t count, std::int64_t available,
                 const char* what) {
    if (count < 0) throw DataError(fn + ": count must be >= 0, got " + std::to_string(count));
    if (count > available) {
        throw DataError(fn + ": count " + std::to_string(count) + " exceeds the " +
                        std::to_string(available) + " " + what);
    }
}

/// DataError unless every value of the rows x cols block is finite (and in [0, 1] if `probs`).
void check_values(const std::string& fn, const float* x, std::int64_t rows, std::int64_t cols,
                  bool probs, const char* what) {
    for (std::int64_t i = 0; i < rows; ++i) {
        for (std::int64_t c = 0; c < cols; ++c) {
            const float v = x[i * cols + c];
            const bool ok = probs ? (v >= 0.0F && v <= 1.0F) : std::isfinite(v);
            if (!ok) {
                throw DataError(fn + ": " + what + " row " + std::to_string(i) + " column " +
                                std::to_string(c) + " is " + std::to_string(v) +
                                (probs ? ", not a probability in [0, 1]" : ", not finite"));
            }
        }
    }
}

void check_probs(const std::string& fn, const float* probs, std::int64_t n, std::int64_t k) {
    check_dims(fn, n, k, "class count", probs);
    check_values(fn, probs, n, k, /*probs=*/true, "probabilities");
}

/// -sum p log p over one row, in class order, 0 log 0 = 0.
double row_entropy(const float* p, std::int64_t k) {
    double h = 0.0;
    for (std::int64_t c = 0; c < k; ++c) {
        const double v = p[c];
        if (v > 0.0) h -= v * std::log(v);
    }
    return h;
}

/// Applies `f(row)` to every row, rows split across LibTorch's intra-op threads.
template <typename F> std::vector<double> per_row(std::int64_t n, F f) {
    std::vector<double> out(idx(n));
    at::parallel_for(0, n, kScoreGrain, [&](std::int64_t r0, std::int64_t r1) {
        for (std::int64_t i = r0; i < r1; ++i) out[idx(i)] = f(i);
    });
    return out;
}

/// Sums f(c) for c in [0, d) in double in a fixed order: four running sums over c mod 4 (for
/// instruction-level parallelism: a single chain is bound by the add latency), combined as
/// (s0 + s1) + (s2 + s3), then the tail in order. The order depends on d only.
template <typename F> double sum4(std::int64_t d, F f) {
    double s0 = 0.0;
    double s1 = 0.0;
    double s2 = 0.0;
    double s3 = 0.0;
    std::int64_t c = 0;
    for (; c + 4 <= d; c += 4) {
        s0 += f(c);
        s1 += f(c + 1);
        s2 += f(c + 2);
        s3 += f(c + 3);
    }
    double s = (s0 + s1) + (s2 + s3);
    for (; c < d; ++c) s += f(c);
    return s;
}

/// x . y in double (sum4 order): the one dot product used for norms and cross terms alike, so
/// that identical rows give bit-identical norms and cross terms.
double dot(const float* x, const float* y, std::int64_t d) {
    return sum4(
        d, [&](std::int64_t c) { return static_cast<double>(x[c]) * static_cast<double>(y[c]); });
}

/// Squared euclidean distance in double (sum4 order).
double squared_distance(const float* x, const float* y, std::int64_t d) {
    return sum4(d, [&](std::int64_t c) {
        const double diff = static_cast<double>(x[c]) - static_cast<double>(y[c]);
        return diff * diff;
    });
}

/// Pool rows per float GEMM block of the core-set's first pass (rows x n_lab floats each).
constexpr std::int64_t kGemmRows = 1024;

struct Interval {
    double lo;
    double hi;
};

/// Rigorous bounds on squared distances screened from float dot products, so that exact (sum4,
/// double) distances are computed only where a comparison could depend on them.
///
/// For float rows x, y of dimension d: g = fl32(x . y) from any BLAS (any order, FMA or not)
/// is within gamma_d |x| |y| + d 2^-125 of the real x . y, gamma_d = d u / (1 - d u),
/// u = 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 3.5, with
/// Cauchy-Schwarz for sum |x_c y_c| and terms for underflow, even with denormals flushed to
/// zero). |x|^2 and |y|^2 (double, sum4)
/// and the real |x - y|^2 differ from the real values, and from sp's exact sum4 distance, by
/// less than a relative `rel` = 2 (d + 4) 2^-53. The bounds below add these, the rounding of
/// their own arithmetic, and a factor 2 of safety.
class DistanceScreen {
  public:
    explicit DistanceScreen(std::int64_t d)
        : gamma_(static_cast<double>(d) * 0x1.0p-24 / (1.0 - static_cast<double>(d) * 0x1.0p-24)),
          tiny_(static_cast<double>(d) * 0x1.0p-125),
          rel_(2.0 * static_cast<double>(d + 4) * 0x1.0p-53),
          sqrt_d_(std::sqrt(static_cast<double>(d))),
          usable_(static_cast<double>(d) * 0x1.0p-24 < 0.25) {}

    /// An interval holding the real |x - y|^2, from |x|^2, |y|^2 (sum4), their square roots
    /// and the float dot product. (-inf, +inf) when screening cannot be trusted (huge d); a NaN
    /// end on overflow (callers then compute the exact distance).
    Interval bounds(double x2, double y2, double xn, double yn, float dot) const {
        if (!usable_) return {-kInf, kInf};
        const double g = dot;
        const double approx = x2 + y2 - 2.0 * g;
        const double dot_err =
            gamma_ * 1.01 * xn * yn * (1.0 + rel_) + tiny_ + 0x1.0p-120 * sqrt_d_ * (xn + yn);
        const double err =
            2.0 * (2.0 * dot_err + rel_ * (x2 + y2) + 0x1.0p-50 * (x2 + y2 + 2.0 * std::abs(g)));
        return {approx - err, approx + err};
    }

    /// A value every exact sum4 distance whose real distance is <= `hi` stays below.
    double exact_upper(double hi) const { return hi * (1.0 + 2.0 * rel_) + tiny_; }

    /// A value every exact sum4 distance whose real distance is >= `lo` stays above.
    double exact_lower(double lo) const { return lo >= 0.0 ? lo * (1.0 - 2.0 * rel_) : lo; }

  private:
    double gamma_;
    double tiny_;
    double rel_;
    double sqrt_d_;
    bool usable_;
};

/// |x_i|^2 of each row (sum4, double).
std::vector<double> squared_norms(const float* x, std::int64_t n, std::int64_t d) {
    std::vector<double> out(idx(n));
    at::parallel_for(0, n, kScoreGrain, [&](std::int64_t r0, std::int64_t r1) {
        for (std::int64_t i = r0; i < r1; ++i) out[idx(i)] = dot(x + i * d, x + i * d, d);
    });
    return out;
}

/// Largest value, ties to the lower index, skipping rows marked taken.
struct Best {
    double value = -kInf;
    std::int64_t index = -1;
    void offer(double v, std::int64_t i) {
        if (index < 0 || v > value || (v == value && i < index)) {
            value = v;
            index = i;
        }
    }
};

/// Runs `update(i)` for every row and returns the argmax of its results over untaken rows. Rows
/// are split into fixed blocks of kBlockRows, each block's best found by one worker, the blocks
/// reduced in order afterwards: the same answer for any thread count.
template <typename F>
Best update_and_argmax(std::int64_t n, const std::vector<char>& taken, F update) {
    const std::int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
    std::vector<Best> best(idx(blocks));
    at::parallel_for(0, blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t b = b0; b < b1; ++b) {
            Best local;
            const std::int64_t end = std::min(n, (b + 1) * kBlockRows);
            for (std::int64_t i = b * kBlockRows; i < end; ++i) {
                const double v = update(i);
                if (taken[idx(i)] == 0) local.offer(v, i);
            }
            best[idx(b)] = local;
        }
    });
    Best all;
    for (const Best& b : best) {
        if (b.index >= 0) all.offer(b.value, b.index);
    }
    return all;
}

/// A core-set greedy's inputs checked and its state readied: every pool row's squared distance
/// to its nearest centre so far (+inf), the taken flags, the picks (reserved); *pick_distance
/// cleared and reserved.
struct CoresetRun {
    std::vector<double> min_d2;
    std::vector<char> taken;
    std::vector<std::int64_t> picks;

    /// Takes `best` as the next pick (its distance to *pick_distance if given); true once
    /// `count` rows are picked.
    bool take(const Best& best, std::int64_t count, std::vector<double>* pick_distance) {
        SP_CHECK(best.index >= 0, "coreset_greedy: no unpicked pool row left");
        picks.push_back(best.index);
        if (pick_distance != nullptr) pick_distance->push_back(std::sqrt(best.value));
        taken[idx(best.index)] = 1;
        return static_cast<std::int64_t>(picks.size()) == count;
    }
};

CoresetRun start_coreset(const std::string& fn, const float* pool_emb, std::int64_t n_pool,
                         const float* labelled_emb, std::int64_t n_lab, std::int64_t d,
                         std::int64_t count, std::vector<double>* pick_distance) {
    check_dims(fn, n_pool, d, "dimension", pool_emb);
    check_dims(fn, n_lab, d, "dimension", labelled_emb);
    check_count(fn, count, n_pool, "pool rows");
    check_values(fn, pool_emb, n_pool, d, /*probs=*/false, "pool embedding");
    check_values(fn, labelled_emb, n_lab, d, /*probs=*/false, "labelled embedding");
    CoresetRun run{std::vector<double>(idx(n_pool), kInf), std::vector<char>(idx(n_pool), 0), {}};
    run.picks.reserve(idx(count));
    if (pick_distance != nullptr) {
        pick_distance->clear();
        pick_distance->reserve(idx(count));
    }
    return run;
}

} // namespace

std::vector<double> least_confidence_scores(const float* probs, std::int64_t n, std::int64_t k) {
    check_probs("least_confidence_scores", probs, n, k);
    return per_row(n, [&](std::int64_t i) {
        const float* p = probs + i * k;
        return 1.0 - static_cast<double>(*std::max_element(p, p + k));
    });
}

std::vector<double> margin_scores(const float* probs, std::int64_t n, std::int64_t k) {
    check_probs("margin_scores", probs, n, k);
    if (k < 2) throw DataError("margin_scores: needs at least 2 classes, got " + std::to_string(k));
    return per_row(n, [&](std::int64_t i) {
        const float* p = probs + i * k;
        double top1 = -kInf;
        double top2 = -kInf;
        for (std::int64_t c = 0; c < k; ++c) {
            const double v = p[c];
            if (v > top1) {
                top2 = top1;
                top1 = v;
            } else if (v > top2) {
                top2 = v;
            }
        }
        return -(top1 - top2);
    });
}

std::vector<double> entropy_scores(const float* probs, std::int64_t n, std::int64_t k) {
    check_probs("entropy_scores", probs, n, k);
    return per_row(n, [&](std::int64_t i) { return row_entropy(probs + i * k, k); });
}

std::vector<double> bald_scores(const float* mc_probs, std::int64_t t, std::int64_t n,
                                std::int64_t k) {
    const std::string fn = "bald_scores";
    if (t < 1) throw DataError(fn + ": needs at least 1 pass, got " + std::to_string(t));
    check_dims(fn, n, k, "class count", mc_probs);
    check_values(fn, mc_probs, t * n, k, /*probs=*/true, "probabilities (pass * n + row)");
    const std::int64_t stride = n * k;
    return per_row(n, [&](std::int64_t i) {
        double mean_entropy = 0.0;
        for (std::int64_t s = 0; s < t; ++s)
            mean_entropy += row_entropy(mc_probs + s * stride + i * k, k);
        mean_entropy /= static_cast<double>(t);
        double entropy_of_mean = 0.0;
        for (std::int64_t c = 0; c < k; ++c) {
            double m = 0.0;
            for (std::int64_t s = 0; s < t; ++s)
                m += static_cast<double>(mc_probs[s * stride + i * k + c]);
            m /= static_cast<double>(t);
            if (m > 0.0) entropy_of_mean -= m * std::log(m);
        }
        return entropy_of_mean - mean_entropy;
    });
}

std::vector<std::int64_t> top_k(const std::vector<double>& scores, std::int64_t count) {
    const auto n = static_cast<std::int64_t>(scores.size());
    check_count("top_k", count, n, "scores");
    for (std::int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(scores[idx(i)])) {
            throw DataError("top_k: score " + std::to_string(i) + " is not finite");
        }
    }
    std::vector<std::int64_t> order(idx(n));
    for (std::int64_t i = 0; i < n; ++i) order[idx(i)] = i;
    // A strict total order (score descending, then index ascending): any correct sort gives the
    // same prefix.
    std::partial_sort(order.begin(), order.begin() + count, order.end(),
                      [&](std::int64_t a, std::int64_t b) {
                          const double sa = scores[idx(a)];
                          const double sb = scores[idx(b)];
                          return sa > sb || (sa == sb && a < b);
                      });
    order.resize(idx(count));
    return order;
}

std::vector<std::int64_t> coreset_greedy(const float* pool_emb, std::int64_t n_pool,
                                         const float* labelled_emb, std::int64_t n_lab,
                                         std::int64_t d, std::int64_t count,
                                         std::vector<double>* pick_distance) {
    CoresetRun run = start_coreset("coreset_greedy", pool_emb, n_pool, labelled_emb, n_lab, d,
                                   count, pick_distance);
    std::vector<double>& min_d2 = run.min_d2;
    std::vector<char>& taken = run.taken;
    std::vector<std::int64_t>& picks = run.picks;
    if (count == 0) return picks;

    const DistanceScreen screen(d);
    // Float GEMM/GEMV on the caller's buffers (read only).
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
    const torch::Tensor pool_t =
        torch::from_blob(const_cast<float*>(pool_emb), {n_pool, d}, opts); // NOLINT
    const std::vector<double> pool_sq = squared_norms(pool_emb, n_pool, d);
    std::vector<double> pool_norm(idx(n_pool));
    for (std::int64_t i = 0; i < n_pool; ++i) pool_norm[idx(i)] = std::sqrt(pool_sq[idx(i)]);

    // Initial minimum over the labelled rows: screened with float GEMM per block of pool rows,
    // then the exact (sum4) distance to every labelled row that might be the nearest.
    if (n_lab > 0) {
        const torch::Tensor lab_t =
            torch::from_blob(const_cast<float*>(labelled_emb), {n_lab, d}, opts); // NOLINT
        const std::vector<double> lab_sq = squared_norms(labelled_emb, n_lab, d);
        const torch::Tensor lab_tt = lab_t.t();
        std::vector<double> lab_norm(idx(n_lab));
        for (std::int64_t j = 0; j < n_lab; ++j) lab_norm[idx(j)] = std::sqrt(lab_sq[idx(j)]);
        for (std::int64_t r0 = 0; r0 < n_pool; r0 += kGemmRows) {
            const std::int64_t r1 = std::min(n_pool, r0 + kGemmRows);
            const torch::Tensor dots = torch::mm(pool_t.slice(0, r0, r1), lab_tt).contiguous();
            const float* g = dots.data_ptr<float>();
            at::parallel_for(r0, r1, 8, [&](std::int64_t i0, std::int64_t i1) {
                std::vector<double> lo(idx(n_lab));
                for (std::int64_t i = i0; i < i1; ++i) {
                    const float* gi = g + (i - r0) * n_lab;
                    const double xi2 = pool_sq[idx(i)];
                    const double xin = pool_norm[idx(i)];
                    double upper = kInf;
                    for (std::int64_t j = 0; j < n_lab; ++j) {
                        const Interval a =
                            screen.bounds(xi2, lab_sq[idx(j)], xin, lab_norm[idx(j)], gi[j]);
                        lo[idx(j)] = a.lo;
                        upper = std::min(upper, a.hi);
                    }
                    const double cut = screen.exact_upper(upper);
                    const float* x = pool_emb + i * d;
                    double m = kInf;
                    for (std::int64_t j = 0; j < n_lab; ++j) {
                        // A NaN bound (an overflow) falls through to the exact distance.
                        if (lo[idx(j)] > cut) continue;
                        m = std::min(m, squared_distance(x, labelled_emb + j * d, d));
                    }
                    min_d2[idx(i)] = m;
                }
            });
        }
    }
    Best best = update_and_argmax(n_pool, taken, [&](std::int64_t i) { return min_d2[idx(i)]; });
    while (!run.take(best, count, pick_distance)) {
        const std::int64_t pick = picks.back();
        const float* y = pool_emb + pick * d;
        const double y2 = pool_sq[idx(pick)];
        const double yn = std::sqrt(y2);
        // x_i . y for every pool row in float (GEMV), then the exact distance only where it
        // might lower the row's minimum.
        const torch::Tensor dots = torch::mv(pool_t, pool_t[pick]).contiguous();
        const float* g = dots.data_ptr<float>();
        best = update_and_argmax(n_pool, taken, [&](std::int64_t i) {
            double& m = min_d2[idx(i)];
            if (taken[idx(i)] != 0) return m;
            const double xi2 = pool_sq[idx(i)];
            const Interval a = screen.bounds(xi2, y2, pool_norm[idx(i)], yn, g[i]);
            if (!(screen.exact_lower(a.lo) >= m))
                m = std::min(m, squared_distance(pool_emb + i * d, y, d));
            return m;
        });
    }
    return picks;
}

std::vector<std::int64_t> detail::coreset_greedy_direct(const float* pool_emb, std::int64_t n_pool,
                                                        const float* labelled_emb,
                                                        std::int64_t n_lab, std::int64_t d,
                                                        std::int64_t count,
                                                        std::vector<double>* pick_distance) {
    CoresetRun run = start_coreset("coreset_greedy_direct", pool_emb, n_pool, labelled_emb, n_lab,
                                   d, count, pick_distance);
    std::vector<double>& min_d2 = run.min_d2;
    std::vector<char>& taken = run.taken;
    std::vector<std::int64_t>& picks = run.picks;
    if (count == 0) return picks;

    // Initial minimum over the labelled rows, one pool row at a time (labelled rows in order).
    Best best = update_and_argmax(n_pool, taken, [&](std::int64_t i) {
        const float* x = pool_emb + i * d;
        double m = kInf;
        for (std::int64_t j = 0; j < n_lab; ++j)
            m = std::min(m, squared_distance(x, labelled_emb + j * d, d));
        min_d2[idx(i)] = m;
        return m;
    });
    while (!run.take(best, count, pick_distance)) {
        const std::int64_t pick = picks.back();
        const float* y = pool_emb + pick * d;
        best = update_and_argmax(n_pool, taken, [&](std::int64_t i) {
            double& m = min_d2[idx(i)];
            if (taken[idx(i)] == 0) m = std::min(m, squared_distance(pool_emb + i * d, y, d));
            return m;
        });
    }
    return picks;
}

std::vector<std::int64_t> badge_select(const float* probs, const float* emb, std::int64_t n,
                                       std::int64_t k, std::int64_t d, std::int64_t count,
                                       std::uint64_t seed) {
    const std::string fn = "badge_select";
    check_probs(fn, probs, n, k);
    check_dims(fn, n, d, "embedding dimension", emb);
    check_values(fn, emb, n, d, /*probs=*/false, "embedding");
    check_count(fn, count, n, "pool rows");
    std::vector<std::int64_t> picks;
    picks.reserve(idx(count));
    if (count == 0) return picks;

    // Per row: the predicted class (first largest), |a|^2 and |h|^2, each from the same dot
    // products as the cross terms below, so that duplicate rows are at distance exactly 0.
    std::vector<std::int64_t> label(idx(n));
    std::vector<double> a2(idx(n));
    std::vector<double> h2(idx(n));
    // a_i . a_j with a = p - onehot(label), summed in class order.
    auto dot_a = [&](std::int64_t i, std::int64_t j) {
        const float* pi = probs + i * k;
        const float* pj = probs + j * k;
        double s = 0.0;
        for (std::int64_t c = 0; c < k; ++c) {
            const double ai = static_cast<double>(pi[c]) - (c == label[idx(i)] ? 1.0 : 0.0);
            const double aj = static_cast<double>(pj[c]) - (c == label[idx(j)] ? 1.0 : 0.0);
            s += ai * aj;
        }
        return s;
    };
    at::parallel_for(0, n, kScoreGrain, [&](std::int64_t r0, std::int64_t r1) {
        for (std::int64_t i = r0; i < r1; ++i) {
            const float* p = probs + i * k;
            label[idx(i)] = std::max_element(p, p + k) - p;
            a2[idx(i)] = dot_a(i, i);
            h2[idx(i)] = dot(emb + i * d, emb + i * d, d);
        }
    });

    std::vector<char> taken(idx(n), 0);
    std::vector<double> d2(idx(n), kInf);
    Best first;
    for (std::int64_t i = 0; i < n; ++i) first.offer(a2[idx(i)] * h2[idx(i)], i);
    std::int64_t pick = first.index;
    SplitMixRng rng(seed);
    for (;;) {
        picks.push_back(pick);
        taken[idx(pick)] = 1;
        d2[idx(pick)] = 0.0;
        if (static_cast<std::int64_t>(picks.size()) == count) break;
        const double sq_pick = a2[idx(pick)] * h2[idx(pick)];
        const float* hp = emb + pick * d;
        at::parallel_for(0, n, kBlockRows, [&](std::int64_t r0, std::int64_t r1) {
            for (std::int64_t i = r0; i < r1; ++i) {
                if (taken[idx(i)] != 0) continue;
                const double cross = dot_a(i, pick) * dot(emb + i * d, hp, d);
                const double dist = std::max(0.0, a2[idx(i)] * h2[idx(i)] + sq_pick - 2.0 * cross);
                d2[idx(i)] = std::min(d2[idx(i)], dist);
            }
        });
        const double u = static_cast<double>(rng.next() >> 11U) * 0x1.0p-53;
        double total = 0.0;
        for (const double v : d2) total += v;
        pick = -1;
        if (total > 0.0) {
            const double target = u * total;
            double running = 0.0;
            for (std::int64_t i = 0; i < n; ++i) {
                running += d2[idx(i)];
                if (running > target) {
                    pick = i;
                    break;
                }
            }
        }
        if (pick < 0) {
            // Every unpicked row duplicates a pick (or, in theory, rounding left the running sum
            // at the target): the lowest unpicked index.
            pick = std::find(taken.begin(), taken.end(), 0) - taken.begin();
        }
    }
    return picks;
}

std::vector<std::int64_t> random_select(std::int64_t n, std::int64_t count, std::uint64_t seed) {
    if (n < 0) throw DataError("random_select: pool size must be >= 0, got " + std::to_string(n));
    check_count("random_select", count, n, "pool rows");
    std::vector<std::int64_t> perm(idx(n));
    for (std::int64_t i = 0; i < n; ++i) perm[idx(i)] = i;
    SplitMixRng rng(seed);
    for (std::int64_t i = 0; i < count; ++i) {
        const auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i)));
        std::swap(perm[idx(i)], perm[idx(j)]);
    }
    perm.resize(idx(count));
    return perm;
}

} // namespace sp
