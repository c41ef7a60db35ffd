#include "sp/metrics/cosine.hpp"

#include "sp/util/error.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace sp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kSets = 4; // all, within, between, full

/// Sets LibTorch's intra-op thread count for a scope and restores it after.
class ThreadGuard {
  public:
    explicit ThreadGuard(int threads) : previous_(at::get_num_threads()) {
        if (threads > 0 && threads != previous_) {
            at::set_num_threads(threads);
            changed_ = true;
        }
    }
    ~ThreadGuard() {
        if (changed_) at::set_num_threads(previous_);
    }
    ThreadGuard(const ThreadGuard&) = delete;
    ThreadGuard& operator=(const ThreadGuard&) = delete;

  private:
    int previous_;
    bool changed_ = false;
};

/// numpy.histogram's bin assignment for equal-width bins over [lo, hi] (edges from linspace, the
/// last bin closed), for a value already inside [lo, hi].
class Binner {
  public:
    Binner(std::int64_t bins, double lo, double hi)
        : bins_(bins), lo_(lo), norm_(static_cast<double>(bins) / (hi - lo)),
          edges_(static_cast<std::size_t>(bins) + 1) {
        const double step = (hi - lo) / static_cast<double>(bins);
        for (std::int64_t i = 0; i < bins; ++i)
            edges_[static_cast<std::size_t>(i)] = static_cast<double>(i) * step + lo;
        edges_[static_cast<std::size_t>(bins)] = hi;
    }
    std::int64_t operator()(double v) const {
        auto i = static_cast<std::int64_t>((v - lo_) * norm_);
        i = std::clamp<std::int64_t>(i, 0, bins_ - 1);
        if (v < edges_[static_cast<std::size_t>(i)]) {
            --i;
        } else if (i != bins_ - 1 && v >= edges_[static_cast<std::size_t>(i) + 1]) {
            ++i;
        }
        return i;
    }

  private:
    std::int64_t bins_;
    double lo_;
    double norm_;
    std::vector<double> edges_;
};

/// One row's contribution to one set: count, sum, sum of squared deviations about the row mean.
struct RowAcc {
    std::int64_t n = 0;
    double sum = 0.0;
    double m2 = 0.0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
};

/// Combines rows in row order (Chan et al.); the mean is the total sum over the count.
struct SetAcc {
    std::int64_t n = 0;
    double sum = 0.0;
    double run_mean = 0.0;
    double m2 = 0.0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    std::vector<std::int64_t> hist;

    void add(const RowAcc& r) {
        if (r.n == 0) return;
        const double mean_b = r.sum / static_cast<double>(r.n);
        if (n == 0) {
            run_mean = mean_b;
            m2 = r.m2;
        } else {
            const double na = static_cast<double>(n);
            const double nb = static_cast<double>(r.n);
            const double nt = na + nb;
            const double delta = mean_b - run_mean;
            m2 = m2 + r.m2 + delta * delta * na * nb / nt;
            run_mean = run_mean + delta * nb / nt;
        }
        n += r.n;
        sum += r.sum;
        min = std::min(min, r.min);
        max = std::max(max, r.max);
    }
};

double hist_quantile(const std::vector<std::int64_t>& hist, std::int64_t count, double q,
                     double width) {
    if (count == 0) return kNaN;
    const double target = q * static_cast<double>(count);
    std::int64_t cum = 0;
    for (std::size_t b = 0; b < hist.size(); ++b) {
        const std::int64_t next = cum + hist[b];
        if (hist[b] > 0 && static_cast<double>(next) >= target) {
            const double frac = std::clamp(
                (target - static_cast<double>(cum)) / static_cast<double>(hist[b]), 0.0, 1.0);
            return -1.0 + (static_cast<double>(b) + frac) * width;
        }
        cum = next;
    }
    return 1.0;
}

CosineSetStats finish(const SetAcc& a, double width) {
    CosineSetStats s;
    s.count = a.n;
    s.histogram = a.hist;
    if (a.n == 0) {
        s.mean = s.std = s.min = s.max = s.q25 = s.q50 = s.q75 = kNaN;
        return s;
    }
    s.mean = a.sum / static_cast<double>(a.n);
    s.std = std::sqrt(std::max(0.0, a.m2 / static_cast<double>(a.n)));
    s.min = a.min;
    s.max = a.max;
    s.q25 = hist_quantile(a.hist, a.n, 0.25, width);
    s.q50 = hist_quantile(a.hist, a.n, 0.50, width);
    s.q75 = hist_quantile(a.hist, a.n, 0.75, width);
    return s;
}

} // namespace

CosineStats cosine_statistics(const float* x, std::int64_t n, std::int64_t d,
                              const std::int64_t* labels, std::int64_t classes,
                              const CosineOptions& opt) {
    if (opt.bins < 1)
        throw ConfigError("cosine: bins must be >= 1, got " + std::to_string(opt.bins));
    if (opt.chunk_rows < 1)
        throw ConfigError("cosine: chunk_rows must be >= 1, got " + std::to_string(opt.chunk_rows));
    if (opt.threads < 0)
        throw ConfigError("cosine: threads must be >= 0, got " + std::to_string(opt.threads));
    if (n < 0 || d < 1)
        throw DataError("cosine: bad embeddings shape " + std::to_string(n) + " x " +
                        std::to_string(d));
    if (classes < 1)
        throw DataError("cosine: classes must be >= 1, got " + std::to_string(classes));
    if (n > 0 && (x == nullptr || labels == nullptr))
        throw DataError("cosine: null embeddings or labels");
    for (std::int64_t i = 0; i < n; ++i) {
        if (labels[i] < 0 || labels[i] >= classes)
            throw DataError("cosine: label " + std::to_string(labels[i]) + " at row " +
                            std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
    }

    ThreadGuard guard(opt.threads);
    const auto un = static_cast<std::size_t>(n);
    const auto ud = static_cast<std::size_t>(d);
    const auto ubins = static_cast<std::size_t>(opt.bins);
    const double width = 2.0 / static_cast<double>(opt.bins);
    const Binner binner(opt.bins, -1.0, 1.0);

    CosineStats out;
    out.bins = opt.bins;
    out.quantile_resolution = width;
    out.classes = classes;
    out.has_full = opt.full_matrix;

    // Class means of the raw rows, in double, rows added in order; then their cosines.
    {
        const auto uk = static_cast<std::size_t>(classes);
        std::vector<double> means(uk * ud, 0.0);
        std::vector<std::int64_t> counts(uk, 0);
        for (std::size_t i = 0; i < un; ++i) {
            const auto k = static_cast<std::size_t>(labels[i]);
            ++counts[k];
            for (std::size_t c = 0; c < ud; ++c)
                means[k * ud + c] += static_cast<double>(x[i * ud + c]);
        }
        for (std::size_t k = 0; k < uk; ++k) {
            if (counts[k] == 0) continue;
            for (std::size_t c = 0; c < ud; ++c)
                means[k * ud + c] /= static_cast<double>(counts[k]);
            double ss = 0.0;
            for (std::size_t c = 0; c < ud; ++c) ss += means[k * ud + c] * means[k * ud + c];
            const double norm = std::sqrt(ss);
            if (norm > 0.0) {
                for (std::size_t c = 0; c < ud; ++c) means[k * ud + c] /= norm;
            }
        }
        out.class_means_cosine.assign(uk * uk, 0.0);
        for (std::size_t a = 0; a < uk; ++a) {
            for (std::size_t b = 0; b < uk; ++b) {
                double dot = 0.0;
                for (std::size_t c = 0; c < ud; ++c) dot += means[a * ud + c] * means[b * ud + c];
                out.class_means_cosine[a * uk + b] = dot;
            }
        }
    }

    // L2-normalised rows in double; a zero row stays zero.
    torch::Tensor y = torch::empty({n, d}, torch::TensorOptions().dtype(at::kDouble));
    double* yp = y.data_ptr<double>();
    for (std::size_t i = 0; i < un; ++i) {
        double ss = 0.0;
        for (std::size_t c = 0; c < ud; ++c) {
            const double v = static_cast<double>(x[i * ud + c]);
            yp[i * ud + c] = v;
            ss += v * v;
        }
        const double norm = std::sqrt(ss);
        if (norm > 0.0) {
            for (std::size_t c = 0; c < ud; ++c) yp[i * ud + c] /= norm;
        }
    }

    std::vector<SetAcc> sets(kSets);
    for (auto& s : sets) s.hist.assign(ubins, 0);

    const std::int64_t chunk = std::min<std::int64_t>(opt.chunk_rows, std::max<std::int64_t>(n, 1));
    std::vector<RowAcc> rows(static_cast<std::size_t>(chunk) * kSets);
    std::vector<double> products;
    std::vector<std::int64_t> row_hist(static_cast<std::size_t>(chunk) * kSets * ubins);

    for (std::int64_t start = 0; start < n; start += chunk) {
        const std::int64_t m = std::min(chunk, n - start);
        const std::int64_t col0 = opt.full_matrix ? 0 : start;
        const auto ncols = static_cast<std::size_t>(n - col0);
        // Dot products in a fixed order (k = 0..d-1) rather than BLAS: BLAS kernels sum in an
        // order that depends on the block shape, so results would change with chunk_rows.
        products.resize(static_cast<std::size_t>(m) * ncols);
        at::parallel_for(0, m, 1, [&](std::int64_t r0, std::int64_t r1) {
            for (std::int64_t r = r0; r < r1; ++r) {
                const double* a = yp + (static_cast<std::size_t>(start + r)) * ud;
                double* out_row = products.data() + static_cast<std::size_t>(r) * ncols;
                for (std::size_t c = 0; c < ncols; ++c) {
                    const double* b = yp + (static_cast<std::size_t>(col0) + c) * ud;
                    double dot = 0.0;
                    for (std::size_t k = 0; k < ud; ++k) dot += a[k] * b[k];
                    out_row[c] = dot;
                }
            }
        });
        const double* pp = products.data();
        std::fill(rows.begin(), rows.end(), RowAcc{});
        std::fill(row_hist.begin(), row_hist.end(), 0);

        // Each row is processed by one thread into its own slots: no shared state.
        at::parallel_for(0, m, 1, [&](std::int64_t r0, std::int64_t r1) {
            for (std::int64_t r = r0; r < r1; ++r) {
                const auto ur = static_cast<std::size_t>(r);
                const std::size_t i = static_cast<std::size_t>(start) + ur;
                const double* row = pp + ur * ncols;
                RowAcc* acc = &rows[ur * kSets];
                std::int64_t* hist = &row_hist[ur * kSets * ubins];
                const std::size_t c_first = i + 1 - static_cast<std::size_t>(col0);
                auto value = [&](std::size_t c) { return std::clamp(row[c], -1.0, 1.0); };
                // Pass 1: count, sum, min, max, histogram.
                auto take = [&](int s, double v, std::int64_t bin) {
                    RowAcc& a = acc[s];
                    ++a.n;
                    a.sum += v;
                    a.min = std::min(a.min, v);
                    a.max = std::max(a.max, v);
                    ++hist[static_cast<std::size_t>(s) * ubins + static_cast<std::size_t>(bin)];
                };
                for (std::size_t c = c_first; c < ncols; ++c) {
                    const double v = value(c);
                    const std::int64_t bin = binner(v);
                    const std::size_t j = static_cast<std::size_t>(col0) + c;
                    take(0, v, bin);
                    take(labels[i] == labels[j] ? 1 : 2, v, bin);
                }
                if (opt.full_matrix) {
                    for (std::size_t c = 0; c < ncols; ++c) {
                        const double v = value(c);
                        take(3, v, binner(v));
                    }
                }
                // Pass 2: squared deviations about the row's own mean.
                double mean[kSets];
                for (int s = 0; s < kSets; ++s)
                    mean[s] = acc[s].n > 0 ? acc[s].sum / static_cast<double>(acc[s].n) : 0.0;
                for (std::size_t c = c_first; c < ncols; ++c) {
                    const double v = value(c);
                    const std::size_t j = static_cast<std::size_t>(col0) + c;
                    const double e0 = v - mean[0];
                    acc[0].m2 += e0 * e0;
                    const int s = labels[i] == labels[j] ? 1 : 2;
                    const double e = v - mean[s];
                    acc[s].m2 += e * e;
                }
                if (opt.full_matrix) {
                    for (std::size_t c = 0; c < ncols; ++c) {
                        const double e = value(c) - mean[3];
                        acc[3].m2 += e * e;
                    }
                }
            }
        });

        // Combine rows in row order: the result does not depend on chunking or threads.
        for (std::size_t r = 0; r < static_cast<std::size_t>(m); ++r) {
            for (std::size_t s = 0; s < kSets; ++s) {
                sets[s].add(rows[r * kSets + s]);
                const std::int64_t* h = &row_hist[(r * kSets + s) * ubins];
                for (std::size_t b = 0; b < ubins; ++b) sets[s].hist[b] += h[b];
            }
        }
    }

    out.all = finish(sets[0], width);
    out.within = finish(sets[1], width);
    out.between = finish(sets[2], width);
    if (opt.full_matrix) out.full = finish(sets[3], width);
    return out;
}

} // namespace sp
