#include "sp/metrics/cosine.hpp"

#include "sp/metrics/fixed_dot.hpp"
#include "sp/metrics/torch_threads.hpp"
#include "sp/util/error.hpp"
#include "sp/util/signals.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>

namespace sp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

/// Count, sum and sum of squares of one set of cosines, plus its histogram and exact extremes.
struct SetAcc {
    std::int64_t n = 0;
    double sum = 0.0;
    double sumsq = 0.0;
    double deviation = -1.0; ///< sum of squared deviations when known directly, else < 0
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    std::vector<std::int64_t> hist;
};

CosineSetStats finish(const SetAcc& a, double width) {
    CosineSetStats s;
    s.count = a.n;
    s.histogram = a.hist;
    if (a.n == 0) {
        s.mean = s.std = s.min = s.max = s.q25 = s.q50 = s.q75 = kNaN;
        return s;
    }
    const double count = static_cast<double>(a.n);
    s.mean = a.sum / count;
    const double variance =
        a.deviation >= 0.0 ? a.deviation / count : a.sumsq / count - s.mean * s.mean;
    s.std = std::sqrt(std::max(0.0, variance));
    s.min = a.min;
    s.max = a.max;
    s.q25 = hist_quantile(a.hist, a.n, 0.25, width);
    s.q50 = hist_quantile(a.hist, a.n, 0.50, width);
    s.q75 = hist_quantile(a.hist, a.n, 0.75, width);
    return s;
}

/// Sum and sum of squares about the mean of the within- and between-class sets by direct
/// double cosines (clipped), two passes, rows combined in row order: O(N^2 d). The closed form
/// loses the variance to rounding when it is tiny against E[c^2]; small and degenerate sets use
/// this instead.
void direct_moments(const double* yp, std::size_t un, std::size_t ud, const std::int64_t* labels,
                    SetAcc& within, SetAcc& between, SetAcc& all) {
    std::vector<double> row(3 * un, 0.0);
    auto pass = [&](const double* mean) {
        std::fill(row.begin(), row.end(), 0.0);
        at::parallel_for(0, static_cast<std::int64_t>(un), 1, [&](std::int64_t b, std::int64_t e) {
            for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i) {
                double acc[3] = {0.0, 0.0, 0.0};
                for (std::size_t j = i + 1; j < un; ++j) {
                    const double c =
                        std::clamp(detail::fixed_dot(yp + i * ud, yp + j * ud, ud), -1.0, 1.0);
                    const int set = labels[i] == labels[j] ? 0 : 1;
                    if (mean == nullptr) {
                        acc[set] += c;
                        acc[2] += c;
                    } else {
                        acc[set] += (c - mean[set]) * (c - mean[set]);
                        acc[2] += (c - mean[2]) * (c - mean[2]);
                    }
                }
                for (std::size_t s = 0; s < 3; ++s) row[3 * i + s] = acc[s];
            }
        });
        double total[3] = {0.0, 0.0, 0.0};
        for (std::size_t i = 0; i < un; ++i) {
            for (std::size_t s = 0; s < 3; ++s) total[s] += row[3 * i + s];
        }
        return std::array<double, 3>{total[0], total[1], total[2]};
    };
    SetAcc* sets[3] = {&within, &between, &all};
    const std::array<double, 3> sums = pass(nullptr);
    double mean[3];
    for (std::size_t s = 0; s < 3; ++s) {
        sets[s]->sum = sums[s];
        mean[s] = sets[s]->n > 0 ? sums[s] / static_cast<double>(sets[s]->n) : 0.0;
    }
    const std::array<double, 3> dev = pass(mean);
    // Stored as a sum of squares so that finish() gives the two-pass variance exactly:
    // sumsq / n - mean^2 with sumsq = dev + n mean^2 would round again, so keep dev apart.
    for (std::size_t s = 0; s < 3; ++s) sets[s]->deviation = dev[s];
}

double frobenius_squared(const torch::Tensor& m) { return m.pow(2).sum().item<double>(); }

void check_cosine_inputs(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                         std::int64_t classes, const CosineOptions& opt) {
    if (opt.bins < 1)
        throw ConfigError("cosine: bins must be >= 1, got " + std::to_string(opt.bins));
    if (opt.chunk_rows < 0)
        throw ConfigError("cosine: chunk_rows must be >= 0, got " + std::to_string(opt.chunk_rows));
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
}

/// Cosines of the class means of the raw rows (classes x classes, row-major): means in double,
/// rows added in order.
std::vector<double> class_means_cosine(const float* x, std::size_t un, std::size_t ud,
                                       const std::int64_t* labels, std::int64_t classes) {
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
        for (std::size_t c = 0; c < ud; ++c) means[k * ud + c] /= static_cast<double>(counts[k]);
        double ss = 0.0;
        for (std::size_t c = 0; c < ud; ++c) ss += means[k * ud + c] * means[k * ud + c];
        const double norm = std::sqrt(ss);
        if (norm > 0.0) {
            for (std::size_t c = 0; c < ud; ++c) means[k * ud + c] /= norm;
        }
    }
    std::vector<double> cosines(uk * uk, 0.0);
    for (std::size_t a = 0; a < uk; ++a) {
        for (std::size_t b = 0; b < uk; ++b) {
            double dot = 0.0;
            for (std::size_t c = 0; c < ud; ++c) dot += means[a * ud + c] * means[b * ud + c];
            cosines[a * uk + b] = dot;
        }
    }
    return cosines;
}

/// The rows as unit rows in double (a zero row stays zero), and each unit row's |u_i|^2.
struct UnitRows {
    torch::Tensor y;          ///< n x d double
    std::vector<double> self; ///< |u_i|^2: 1 up to rounding, 0 for a zero row
};

UnitRows unit_rows(const float* x, std::int64_t n, std::int64_t d) {
    const auto un = static_cast<std::size_t>(n);
    const auto ud = static_cast<std::size_t>(d);
    UnitRows u;
    u.y = torch::empty({n, d}, torch::TensorOptions().dtype(at::kDouble));
    u.self.resize(un);
    double* yp = u.y.data_ptr<double>();
    at::parallel_for(0, n, 64, [&](std::int64_t b, std::int64_t e) {
        for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i) {
            double* row = yp + i * ud;
            for (std::size_t c = 0; c < ud; ++c) row[c] = static_cast<double>(x[i * ud + c]);
            const double norm = std::sqrt(detail::fixed_dot(row, row, ud));
            if (norm > 0.0) {
                for (std::size_t c = 0; c < ud; ++c) row[c] /= norm;
            }
            u.self[i] = detail::fixed_dot(row, row, ud);
        }
    });
    return u;
}

/// Count, sum and sum of squares of the three pair sets in closed form, in double: over pairs
/// i < j of a set of rows with unit-row sum S and Gram matrix G = U^T U, sum c_ij =
/// (|S|^2 - sum_i |u_i|^2) / 2 and sum c_ij^2 = (||G||_F^2 - sum_i |u_i|^4) / 2. Per class for
/// the within-class set; the between-class set is the rest. On one thread (SerialBlas): the Gram
/// products, sums and norms are LibTorch/BLAS reductions, which split by thread count.
void closed_form_moments(const UnitRows& u, std::int64_t n, std::int64_t d,
                         const std::int64_t* labels, std::int64_t classes, SetAcc& all,
                         SetAcc& within, SetAcc& between) {
    const detail::SerialBlas serial;
    const torch::Tensor label_t =
        torch::from_blob(const_cast<std::int64_t*>(labels), {n}, torch::kInt64);
    torch::Tensor gram_total = torch::zeros({d, d}, torch::kFloat64);
    torch::Tensor sum_total = torch::zeros({d}, torch::kFloat64);
    double self_sum = 0.0;
    double self_sq = 0.0;
    for (std::int64_t k = 0; k < classes; ++k) {
        const torch::Tensor idx = torch::nonzero(label_t == k).flatten();
        const std::int64_t nk = idx.size(0);
        if (nk == 0) continue;
        const torch::Tensor rows = u.y.index_select(0, idx);
        const torch::Tensor gram = torch::mm(rows.t(), rows);
        const torch::Tensor sum = rows.sum(0);
        gram_total += gram;
        sum_total += sum;
        double ks = 0.0;
        double kq = 0.0;
        const auto* ip = idx.data_ptr<std::int64_t>();
        for (std::int64_t r = 0; r < nk; ++r) {
            const double v = u.self[static_cast<std::size_t>(ip[r])];
            ks += v;
            kq += v * v;
        }
        self_sum += ks;
        self_sq += kq;
        within.n += nk * (nk - 1) / 2;
        within.sum += (sum.dot(sum).item<double>() - ks) / 2.0;
        within.sumsq += (frobenius_squared(gram) - kq) / 2.0;
    }
    all.n = n * (n - 1) / 2;
    all.sum = (sum_total.dot(sum_total).item<double>() - self_sum) / 2.0;
    all.sumsq = (frobenius_squared(gram_total) - self_sq) / 2.0;
    between.n = all.n - within.n;
    between.sum = all.sum - within.sum;
    between.sumsq = all.sumsq - within.sumsq;
}

/// Whether the moments must be redone directly: small sets, and any set whose variance is too
/// small for the closed form to resolve (std < 1e-3: the closed form's absolute error in the
/// variance is ~1e-15).
bool needs_direct_moments(const SetAcc& all, const SetAcc& within, const SetAcc& between) {
    bool direct = all.n <= (std::int64_t{1} << 17);
    for (const SetAcc* set : {&all, &within, &between}) {
        if (set->n == 0) continue;
        const double m = set->sum / static_cast<double>(set->n);
        if (set->sumsq / static_cast<double>(set->n) - m * m < 1e-6) direct = true;
    }
    return direct;
}

/// Histograms and exact extremes of the within- and between-class pairs from float32 GEMM
/// blocks over the upper triangle. A float product of unit rows is within g = (d + 4) 2^-22 of
/// the double cosine (four times the worst-case rounding bound of a d-term float dot product
/// plus input rounding). A value at least g away from every bin edge therefore falls in the same
/// bin as the double cosine; any other, and any value that could beat a row's current minimum or
/// maximum, is recomputed in double. Counts are integers, extremes are exact doubles: the
/// results do not depend on threads, chunk size or BLAS rounding.
class PairHistograms {
  public:
    PairHistograms(const UnitRows& u, std::int64_t d, const std::int64_t* labels, std::int64_t bins,
                   const Binner& binner)
        : yp_(u.y.data_ptr<double>()), ud_(static_cast<std::size_t>(d)), labels_(labels),
          bins_(bins), ubins_(static_cast<std::size_t>(bins)), binner_(binner),
          margin_(static_cast<double>(d + 4) * std::ldexp(1.0, -22)),
          half_bins_(static_cast<double>(bins) / 2.0), guard_bins_(margin_ * half_bins_) {}

    /// Scans the pairs in blocks of `chunk` rows; fills the sets' hist, min and max.
    void scan(const torch::Tensor& yf, std::int64_t n, std::int64_t chunk, SetAcc& within,
              SetAcc& between) {
        within.hist.assign(ubins_, 0);
        between.hist.assign(ubins_, 0);
        // Extremes: each worker keeps running exact minima and maxima (a value is recomputed
        // only when its float could beat them), merged at the end; min and max do not depend
        // on order.
        set_min_[0] = set_min_[1] = kInf;
        set_max_[0] = set_max_[1] = -kInf;
        for (std::int64_t start = 0; start < n; start += chunk) {
            throw_if_stop_requested(); // O(N^2 d) in all: a safe point per block
            const std::int64_t m = std::min(chunk, n - start);
            const std::int64_t cols = n - start;
            const torch::Tensor block =
                torch::mm(yf.narrow(0, start, m), yf.narrow(0, start, cols).t()).contiguous();
            const float* g = block.data_ptr<float>();
            at::parallel_for(0, m, 8, [&](std::int64_t r0, std::int64_t r1) {
                rows(g, static_cast<std::size_t>(start), static_cast<std::size_t>(cols),
                     static_cast<std::size_t>(r0), static_cast<std::size_t>(r1), within, between);
            });
        }
        within.min = set_min_[0];
        within.max = set_max_[0];
        between.min = set_min_[1];
        between.max = set_max_[1];
    }

  private:
    static constexpr double kInf = std::numeric_limits<double>::infinity();

    /// Rows [r0, r1) of the block starting at row `start` (g: its float products, `cols`
    /// columns), counted into a worker's own histograms and merged under the mutex.
    void rows(const float* g, std::size_t start, std::size_t cols, std::size_t r0, std::size_t r1,
              SetAcc& within, SetAcc& between) {
        std::vector<std::int64_t> hist(2 * ubins_, 0);
        double mins[2] = {kInf, kInf};
        double maxs[2] = {-kInf, -kInf};
        for (std::size_t r = r0; r < r1; ++r) {
            const std::size_t i = start + r;
            const double* ui = yp_ + i * ud_;
            const std::int64_t li = labels_[i];
            const float* gi = g + r * cols;
            for (std::size_t col = r + 1; col < cols; ++col) {
                const std::size_t j = start + col;
                const std::size_t set = labels_[j] == li ? 0 : 1;
                const auto v = static_cast<double>(gi[col]);
                const double t = (v + 1.0) * half_bins_;
                const double floor_t = std::floor(t);
                const double frac = t - floor_t;
                double exact = kNaN;
                auto exact_value = [&] {
                    if (std::isnan(exact))
                        exact = std::clamp(detail::fixed_dot(ui, yp_ + j * ud_, ud_), -1.0, 1.0);
                    return exact;
                };
                std::int64_t bin = 0;
                if (frac < guard_bins_ || frac > 1.0 - guard_bins_) {
                    bin = binner_(exact_value());
                } else {
                    bin =
                        std::clamp<std::int64_t>(static_cast<std::int64_t>(floor_t), 0, bins_ - 1);
                }
                ++hist[set * ubins_ + static_cast<std::size_t>(bin)];
                if (v - margin_ < mins[set]) mins[set] = std::min(mins[set], exact_value());
                if (v + margin_ > maxs[set]) maxs[set] = std::max(maxs[set], exact_value());
            }
        }
        const std::lock_guard<std::mutex> lock(mutex_);
        for (std::size_t t = 0; t < 2; ++t) {
            set_min_[t] = std::min(set_min_[t], mins[t]);
            set_max_[t] = std::max(set_max_[t], maxs[t]);
        }
        for (std::size_t b = 0; b < ubins_; ++b) {
            within.hist[b] += hist[b];
            between.hist[b] += hist[ubins_ + b];
        }
    }

    const double* yp_;
    std::size_t ud_;
    const std::int64_t* labels_;
    std::int64_t bins_;
    std::size_t ubins_;
    const Binner& binner_;
    double margin_;
    double half_bins_;
    double guard_bins_;
    std::mutex mutex_;
    double set_min_[2] = {kInf, kInf};
    double set_max_[2] = {-kInf, -kInf};
};

/// The paper's N x N matrix from the unique pairs: every pair twice, plus the diagonal (1, or 0
/// for a zero row).
SetAcc full_matrix_set(const SetAcc& all, const std::vector<double>& self, std::int64_t n,
                       const Binner& binner) {
    SetAcc full;
    full.n = n * n;
    full.sum = 2.0 * all.sum;
    full.sumsq = 2.0 * all.sumsq;
    full.hist.assign(all.hist.size(), 0);
    for (std::size_t b = 0; b < all.hist.size(); ++b) full.hist[b] = 2 * all.hist[b];
    full.min = all.min;
    full.max = all.max;
    for (const double s : self) {
        const double v = std::clamp(s, -1.0, 1.0);
        full.sum += v;
        full.sumsq += v * v;
        ++full.hist[static_cast<std::size_t>(binner(v))];
        full.min = std::min(full.min, v);
        full.max = std::max(full.max, v);
    }
    if (all.deviation >= 0.0 && full.n > 0) {
        // Deviations about the full mean: each pair twice, shifted from the pairs' mean.
        const double mf = full.sum / static_cast<double>(full.n);
        const double ma = all.n > 0 ? all.sum / static_cast<double>(all.n) : 0.0;
        full.deviation = 2.0 * (all.deviation + static_cast<double>(all.n) * (ma - mf) * (ma - mf));
        for (const double s : self) {
            const double v = std::clamp(s, -1.0, 1.0);
            full.deviation += (v - mf) * (v - mf);
        }
    }
    return full;
}

} // namespace

CosineStats cosine_statistics(const float* x, std::int64_t n, std::int64_t d,
                              const std::int64_t* labels, std::int64_t classes,
                              const CosineOptions& opt) {
    check_cosine_inputs(x, n, d, labels, classes, opt);
    detail::TorchThreads guard(opt.threads);
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
    out.class_means_cosine = class_means_cosine(x, un, ud, labels, classes);

    // Unit rows in double and their float32 copy for the GEMM blocks.
    torch::NoGradGuard no_grad;
    const UnitRows u = unit_rows(x, n, d);
    const torch::Tensor yf = u.y.to(torch::kFloat32).contiguous();

    SetAcc all;
    SetAcc within;
    SetAcc between;
    closed_form_moments(u, n, d, labels, classes, all, within, between);
    if (needs_direct_moments(all, within, between))
        direct_moments(u.y.data_ptr<double>(), un, ud, labels, within, between, all);

    const std::int64_t chunk =
        opt.chunk_rows > 0 ? opt.chunk_rows
                           : std::clamp<std::int64_t>(
                                 (std::int64_t{1} << 24) / std::max<std::int64_t>(n, 1), 64, 2048);
    PairHistograms(u, d, labels, opt.bins, binner).scan(yf, n, chunk, within, between);
    all.hist.assign(ubins, 0);
    for (std::size_t b = 0; b < ubins; ++b) all.hist[b] = within.hist[b] + between.hist[b];
    all.min = std::min(within.min, between.min);
    all.max = std::max(within.max, between.max);

    out.all = finish(all, width);
    out.within = finish(within, width);
    out.between = finish(between, width);
    if (opt.full_matrix) out.full = finish(full_matrix_set(all, u.self, n, binner), width);
    return out;
}

} // namespace sp
