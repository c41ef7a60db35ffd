#include "sp/metrics/tsne.hpp"

#include "sp/metrics/torch_threads.hpp"
#include "sp/metrics/tsne_repulsion.hpp"
#include "sp/metrics/undefined.hpp"
#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"
#include "sp/util/signals.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

namespace sp {

namespace {
std::atomic<bool> g_fail_for_testing{false};
} // namespace

void detail::fail_tsne_for_testing(bool on) noexcept { g_fail_for_testing.store(on); }

namespace {

// scikit-learn's MACHINE_EPSILON (np.finfo(np.double).eps) in the KL and the normalisation of P.
constexpr double kEps = std::numeric_limits<double>::epsilon();
// Candidates per row shortlisted by the float32 products beyond k: the exact (double) distances
// then decide, so float rounding can only matter for ties within 8 ranks of the k-th neighbour.
constexpr std::int64_t kExtraCandidates = 8;
// Squared norms above this would overflow float32 squared distances (scikit-learn's dtype).
constexpr double kMaxSquaredNorm = 1e36;

std::string str(double v) { return std::to_string(v); }

void check_data(const float* x, std::int64_t n, std::int64_t d) {
    if (n < 2) throw UndefinedMetric("tsne: need at least 2 points, got " + std::to_string(n));
    if (d < 1) throw DataError("tsne: need at least 1 dimension, got " + std::to_string(d));
    if (x == nullptr) throw DataError("tsne: null input");
    for (std::int64_t i = 0; i < n; ++i) {
        double sq = 0.0;
        for (std::int64_t c = 0; c < d; ++c) {
            const float v = x[i * d + c];
            if (!std::isfinite(v))
                throw DataError("tsne: non-finite value at row " + std::to_string(i) + ", column " +
                                std::to_string(c));
            sq += static_cast<double>(v) * static_cast<double>(v);
        }
        if (sq > kMaxSquaredNorm)
            throw UndefinedMetric("tsne: row " + std::to_string(i) + " has squared norm " +
                                  str(sq) + " > 1e36; scale the data");
    }
}

void check_perplexity(double perplexity, std::int64_t n) {
    if (!std::isfinite(perplexity) || perplexity <= 0.0)
        throw ConfigError("tsne: perplexity must be > 0, got " + str(perplexity));
    if (perplexity >= static_cast<double>(n))
        throw UndefinedMetric("tsne: perplexity (" + str(perplexity) +
                              ") must be less than the number of points (" + std::to_string(n) +
                              ")");
}

void check_options(const TsneOptions& opt) {
    if (opt.dims != 2)
        throw ConfigError("tsne: only dims = 2 is supported, got " + std::to_string(opt.dims));
    if (opt.iterations < 0)
        throw ConfigError("tsne: iterations must be >= 0, got " + std::to_string(opt.iterations));
    if (opt.exaggeration_iterations < 0 || opt.exaggeration_iterations > opt.iterations)
        throw ConfigError("tsne: exaggeration_iterations must be in [0, iterations], got " +
                          std::to_string(opt.exaggeration_iterations));
    if (!std::isfinite(opt.early_exaggeration) || opt.early_exaggeration <= 0.0)
        throw ConfigError("tsne: early_exaggeration must be > 0, got " +
                          str(opt.early_exaggeration));
    if (!std::isfinite(opt.learning_rate) || opt.learning_rate < 0.0)
        throw ConfigError("tsne: learning_rate must be >= 0 (0 = auto), got " +
                          str(opt.learning_rate));
    if (!std::isfinite(opt.theta) || opt.theta < 0.0)
        throw ConfigError("tsne: theta must be >= 0, got " + str(opt.theta));
    if (opt.threads < 0)
        throw ConfigError("tsne: threads must be >= 0, got " + std::to_string(opt.threads));
    if (opt.method != TsneMethod::exact && opt.method != TsneMethod::barnes_hut &&
        opt.method != TsneMethod::fft)
        throw ConfigError("tsne: unknown method");
    if (opt.init != TsneInit::pca && opt.init != TsneInit::random)
        throw ConfigError("tsne: unknown init");
    if (opt.compat != TsneCompat::sp && opt.compat != TsneCompat::sklearn)
        throw ConfigError("tsne: unknown compat");
    if (opt.iterations_without_progress < 0)
        throw ConfigError("tsne: iterations_without_progress must be >= 0, got " +
                          std::to_string(opt.iterations_without_progress));
    if (!(opt.min_grad_norm >= 0.0))
        throw ConfigError("tsne: min_grad_norm must be >= 0, got " + str(opt.min_grad_norm));
}

/// Squared euclidean distance in double, over 4 interleaved partial sums (independent chains the
/// compiler can pipeline and vectorise; the order is fixed, so the result is deterministic). Not
/// clusters.cpp's: that one sums in another order, and each order is part of recorded results.
double squared_distance(const float* a, const float* b, std::int64_t d) {
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    std::int64_t q = 0;
    for (; q + 4 <= d; q += 4) {
        for (std::int64_t l = 0; l < 4; ++l) {
            const double diff = static_cast<double>(a[q + l]) - static_cast<double>(b[q + l]);
            s[l] += diff * diff;
        }
    }
    for (; q < d; ++q) {
        const double diff = static_cast<double>(a[q]) - static_cast<double>(b[q]);
        s[0] += diff * diff;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/// The `cap` smallest pairs offered to each of n rows, in lexicographic (distance, offset)
/// order, where the offset of column j in row i is (j - i) mod n: a set that does not depend on
/// the order the pairs arrive in. (Ties in distance go to the columns just after the row,
/// cyclically: with lowest-index-first, rows of tied points, e.g. all points identical, would all
/// pick the same few columns and make them hubs.) A row keeps up to 2 cap pairs; when full, it
/// keeps its cap smallest and from then on takes only pairs below the largest of those (the
/// threshold), so an accepted pair costs an append.
class Shortlists {
  public:
    Shortlists(std::int64_t n, std::int64_t cap)
        : n_(n), cap_(static_cast<std::size_t>(cap)),
          pairs_(static_cast<std::size_t>(n) * 2 * cap_), count_(static_cast<std::size_t>(n), 0),
          worst_dist_(static_cast<std::size_t>(n), std::numeric_limits<float>::infinity()),
          worst_offset_(static_cast<std::size_t>(n), std::numeric_limits<std::int32_t>::max()) {}

    /// Offers (d, j), j != i, to row i; only rows owned by the calling thread.
    void offer(std::int64_t i, float d, std::int64_t j) {
        const auto ui = static_cast<std::size_t>(i);
        if (d > worst_dist_[ui]) return;
        const auto offset = static_cast<std::int32_t>(j > i ? j - i : j - i + n_);
        if (d == worst_dist_[ui] && offset >= worst_offset_[ui]) return;
        Pair* row = pairs_.data() + ui * 2 * cap_;
        row[count_[ui]++] = {d, offset};
        if (count_[ui] == 2 * cap_) keep_best(ui);
    }

    /// Row i's cap offsets (in no particular order), once every pair has been offered.
    void finish(std::int64_t i, std::vector<std::int64_t>& offsets) {
        const auto ui = static_cast<std::size_t>(i);
        if (count_[ui] > cap_) keep_best(ui);
        const Pair* row = pairs_.data() + ui * 2 * cap_;
        offsets.resize(count_[ui]);
        for (std::size_t c = 0; c < count_[ui]; ++c) offsets[c] = row[c].offset;
    }

  private:
    struct Pair {
        float dist;
        std::int32_t offset;
    };

    /// Keeps row ui's cap smallest pairs; the largest of them becomes the threshold.
    __attribute__((noinline)) void keep_best(std::size_t ui) {
        Pair* row = pairs_.data() + ui * 2 * cap_;
        const auto less = [](const Pair& l, const Pair& r) {
            return l.dist < r.dist || (l.dist == r.dist && l.offset < r.offset);
        };
        std::nth_element(row, row + (cap_ - 1), row + count_[ui], less);
        count_[ui] = cap_;
        worst_dist_[ui] = row[cap_ - 1].dist;
        worst_offset_[ui] = row[cap_ - 1].offset;
    }

    std::int64_t n_;
    std::size_t cap_;
    std::vector<Pair> pairs_;
    std::vector<std::size_t> count_;
    std::vector<float> worst_dist_;
    std::vector<std::int32_t> worst_offset_;
};

/// Exact k nearest neighbours (self excluded) by squared euclidean distance, rows ordered by
/// (distance, index); distances stored as float32 as scikit-learn hands them to its search.
///
/// Float32 products shortlist k + 8 candidates per row, over the upper triangle only: panels of
/// rows [r0, r0 + m) against columns [r0, n), each panel's product in fixed tiles of columns, one
/// GEMM per tile on one thread (the tiles in parallel), so the products do not depend on the
/// thread count. Each pair's float distance is computed once and offered to both rows' running
/// shortlists; the shortlist is the k + 8 smallest (distance, index) pairs, a set that does not
/// depend on the order the pairs arrive in. The candidates' distances are then recomputed in
/// double and ordered by (distance, index).
void nearest_neighbours(const float* x, std::int64_t n, std::int64_t d, std::int64_t k,
                        std::vector<std::int64_t>& index, std::vector<float>& sqdist) {
    SP_CHECK(n < (std::int64_t{1} << 31), "tsne: n must be below 2^31");
    const std::int64_t cand = std::min(n - 1, k + kExtraCandidates);
    index.assign(static_cast<std::size_t>(n * k), 0);
    sqdist.assign(static_cast<std::size_t>(n * k), 0.0F);
    torch::NoGradGuard no_grad;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): from_blob wants void*; read only.
    const torch::Tensor xt = torch::from_blob(const_cast<float*>(x), {n, d}, torch::kFloat);
    std::vector<float> norms(static_cast<std::size_t>(n));
    at::parallel_for(0, n, 256, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            double s = 0.0;
            for (std::int64_t c = 0; c < d; ++c)
                s += static_cast<double>(x[i * d + c]) * static_cast<double>(x[i * d + c]);
            norms[static_cast<std::size_t>(i)] = static_cast<float>(s);
        }
    });
    Shortlists lists(n, cand);
    // Panels of rows x (n - r0) floats: at most 16 Mi floats (64 MiB), one buffer reused.
    const std::int64_t rows = std::clamp<std::int64_t>((std::int64_t{1} << 24) / n, 16, 1024);
    constexpr std::int64_t kTile = 512; // columns per GEMM
    std::vector<float> panel(static_cast<std::size_t>(std::min(rows, n) * n));
    for (std::int64_t r0 = 0; r0 < n; r0 += rows) {
        throw_if_stop_requested(); // a safe point: the map is redone on resume
        const std::int64_t m = std::min(rows, n - r0);
        const std::int64_t width = n - r0;
        const std::int64_t tiles = (width + kTile - 1) / kTile;
        // Tile t holds columns [r0 + t kTile, + w) as an m x w block at panel + m t kTile.
        auto tile_at = [&](std::int64_t t) {
            return panel.data() + static_cast<std::size_t>(m * t * kTile);
        };
        // Products and distances per tile; the tile's columns past the panel's rows take their
        // pairs with the panel's rows here (columns are disjoint across tiles).
        at::parallel_for(0, tiles, 1, [&](std::int64_t tb, std::int64_t te) {
            for (std::int64_t t = tb; t < te; ++t) {
                const std::int64_t c0 = r0 + t * kTile;
                const std::int64_t w = std::min(kTile, n - c0);
                float* out = tile_at(t);
                {
                    // One thread for the product: a threaded float GEMM rounds by thread count.
                    const detail::SerialBlas serial;
                    torch::Tensor ot = torch::from_blob(out, {m, w}, torch::kFloat);
                    torch::mm_out(ot, xt.narrow(0, r0, m), xt.narrow(0, c0, w).t());
                }
                const float* nc = norms.data() + c0;
                for (std::int64_t li = 0; li < m; ++li) {
                    const float ni = norms[static_cast<std::size_t>(r0 + li)];
                    float* row = out + li * w;
                    for (std::int64_t c = 0; c < w; ++c) row[c] = (row[c] * -2.0F + nc[c]) + ni;
                }
                const std::int64_t first = std::max<std::int64_t>(r0 + m - c0, 0);
                for (std::int64_t li = 0; li < m; ++li) {
                    const float* row = out + li * w;
                    for (std::int64_t c = first; c < w; ++c) lists.offer(c0 + c, row[c], r0 + li);
                }
            }
        });
        // The panel's rows take their pairs from the whole panel row (the diagonal block's
        // columns included, each row from its own products).
        at::parallel_for(0, m, 16, [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t li = b; li < e; ++li) {
                const std::int64_t i = r0 + li;
                for (std::int64_t t = 0; t < tiles; ++t) {
                    const std::int64_t c0 = r0 + t * kTile;
                    const std::int64_t w = std::min(kTile, n - c0);
                    const float* row = tile_at(t) + li * w;
                    for (std::int64_t c = 0; c < w; ++c) {
                        if (c0 + c != i) lists.offer(i, row[c], c0 + c);
                    }
                }
            }
        });
    }
    at::parallel_for(0, n, 16, [&](std::int64_t b, std::int64_t e) {
        std::vector<std::pair<double, std::int64_t>> row(static_cast<std::size_t>(cand));
        std::vector<std::int64_t> offsets;
        for (std::int64_t i = b; i < e; ++i) {
            const float* xi = x + i * d;
            lists.finish(i, offsets);
            for (std::int64_t c = 0; c < cand; ++c) {
                const std::int64_t offset = offsets[static_cast<std::size_t>(c)];
                const std::int64_t j = i + offset < n ? i + offset : i + offset - n;
                row[static_cast<std::size_t>(c)] = {squared_distance(xi, x + j * d, d), offset};
            }
            // The k nearest by (distance, offset), as the shortlist chose; then by (distance,
            // index).
            std::partial_sort(row.begin(), row.begin() + k, row.end());
            for (std::int64_t c = 0; c < k; ++c) {
                auto& [dist, col] = row[static_cast<std::size_t>(c)];
                col = i + col < n ? i + col : i + col - n;
            }
            std::sort(row.begin(), row.begin() + k);
            for (std::int64_t c = 0; c < k; ++c) {
                index[static_cast<std::size_t>(i * k + c)] =
                    row[static_cast<std::size_t>(c)].second;
                sqdist[static_cast<std::size_t>(i * k + c)] =
                    static_cast<float>(row[static_cast<std::size_t>(c)].first);
            }
        }
    });
}

/// scikit-learn's _binary_search_perplexity for one row of k float32 squared distances: writes
/// the conditional probabilities p_{j|i} (summing to 1).
void binary_search_row(const float* sqd, std::int64_t k, double desired_entropy, double* p) {
    constexpr int kSteps = 100;
    constexpr double kTol = 1e-5;
    constexpr double kEpsilonDbl = 1e-8;
    double beta_min = -std::numeric_limits<double>::infinity();
    double beta_max = std::numeric_limits<double>::infinity();
    double beta = 1.0;
    for (int step = 0; step < kSteps; ++step) {
        double sum_p = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
            p[j] = std::exp(-static_cast<double>(sqd[j]) * beta);
            sum_p += p[j];
        }
        if (sum_p == 0.0) sum_p = kEpsilonDbl;
        double sum_disti_pi = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
            p[j] /= sum_p;
            sum_disti_pi += static_cast<double>(sqd[j]) * p[j];
        }
        const double entropy = std::log(sum_p) + beta * sum_disti_pi;
        const double diff = entropy - desired_entropy;
        if (std::fabs(diff) <= kTol) break;
        if (diff > 0.0) {
            beta_min = beta;
            beta = beta_max == std::numeric_limits<double>::infinity() ? beta * 2.0
                                                                       : (beta + beta_max) / 2.0;
        } else {
            beta_max = beta;
            beta = beta_min == -std::numeric_limits<double>::infinity() ? beta / 2.0
                                                                        : (beta + beta_min) / 2.0;
        }
    }
    // A row whose distances all underflow exp() after 100 steps (cannot happen for squared
    // distances below float32's maximum, since beta halves to 2^-100) would sum to 0: make it
    // uniform rather than all zeros.
    double total = 0.0;
    for (std::int64_t j = 0; j < k; ++j) total += p[j];
    if (!(total > 0.0)) {
        for (std::int64_t j = 0; j < k; ++j) p[j] = 1.0 / static_cast<double>(k);
    }
}

std::int64_t neighbour_count(double perplexity, std::int64_t n, TsneCompat compat) {
    if (compat == TsneCompat::sklearn) {
        // TSNE._fit: n_neighbors = min(n_samples - 1, int(3.0 * self.perplexity + 1)).
        const auto k = static_cast<std::int64_t>(3.0 * perplexity + 1.0);
        return std::min(n - 1, k);
    }
    const auto k3 = static_cast<std::int64_t>(std::floor(3.0 * perplexity));
    return std::clamp<std::int64_t>(k3, 1, n - 1);
}

TsneAffinities affinities(const float* x, std::int64_t n, std::int64_t d, double perplexity,
                          TsneCompat compat) {
    TsneAffinities a;
    a.n = n;
    const std::int64_t k = neighbour_count(perplexity, n, compat);
    a.neighbours = k;
    nearest_neighbours(x, n, d, k, a.knn_index, a.knn_sqdist);

    // scikit-learn passes the perplexity as a C float to the search.
    const double desired_entropy = std::log(static_cast<double>(static_cast<float>(perplexity)));
    std::vector<double> cond(static_cast<std::size_t>(n * k));
    throw_if_stop_requested();
    at::parallel_for(0, n, 64, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i)
            binary_search_row(a.knn_sqdist.data() + i * k, k, desired_entropy, cond.data() + i * k);
    });

    // Reverse edges by counting sort, in order of the source row (deterministic).
    const auto un = static_cast<std::size_t>(n);
    std::vector<std::int64_t> rev_off(un + 1, 0);
    for (const std::int64_t j : a.knn_index) ++rev_off[static_cast<std::size_t>(j) + 1];
    for (std::size_t i = 0; i < un; ++i) rev_off[i + 1] += rev_off[i];
    std::vector<std::int64_t> rev_src(static_cast<std::size_t>(n * k));
    std::vector<double> rev_val(static_cast<std::size_t>(n * k));
    {
        std::vector<std::int64_t> fill(rev_off.begin(), rev_off.end() - 1);
        for (std::int64_t i = 0; i < n; ++i) {
            for (std::int64_t c = 0; c < k; ++c) {
                const auto j =
                    static_cast<std::size_t>(a.knn_index[static_cast<std::size_t>(i * k + c)]);
                const auto slot = static_cast<std::size_t>(fill[j]++);
                rev_src[slot] = i;
                rev_val[slot] = cond[static_cast<std::size_t>(i * k + c)];
            }
        }
    }
    // Row i of P + P^T: its k forward entries and its reverse entries, merged by column.
    std::vector<std::int64_t> upper(un + 1, 0);
    for (std::size_t i = 0; i < un; ++i)
        upper[i + 1] = upper[i] + k + (rev_off[i + 1] - rev_off[i]);
    std::vector<std::int64_t> cols(static_cast<std::size_t>(upper[un]));
    std::vector<double> vals(cols.size());
    std::vector<std::int64_t> len(un, 0);
    at::parallel_for(0, n, 64, [&](std::int64_t b, std::int64_t e) {
        std::vector<std::pair<std::int64_t, double>> row;
        for (std::int64_t i = b; i < e; ++i) {
            const auto ui = static_cast<std::size_t>(i);
            row.clear();
            for (std::int64_t c = 0; c < k; ++c)
                row.emplace_back(a.knn_index[static_cast<std::size_t>(i * k + c)],
                                 cond[static_cast<std::size_t>(i * k + c)]);
            for (auto s = rev_off[ui]; s < rev_off[ui + 1]; ++s)
                row.emplace_back(rev_src[static_cast<std::size_t>(s)],
                                 rev_val[static_cast<std::size_t>(s)]);
            // Stable: equal columns keep forward-then-reverse order, so the sum is p_j|i + p_i|j.
            std::stable_sort(row.begin(), row.end(),
                             [](const auto& l, const auto& r) { return l.first < r.first; });
            auto out = static_cast<std::size_t>(upper[ui]);
            const std::size_t start = out;
            for (std::size_t t = 0; t < row.size(); ++t) {
                if (t > 0 && row[t].first == row[t - 1].first) {
                    vals[out - 1] += row[t].second;
                } else {
                    cols[out] = row[t].first;
                    vals[out] = row[t].second;
                    ++out;
                }
            }
            len[ui] = static_cast<std::int64_t>(out - start);
        }
    });
    a.row_offsets.assign(un + 1, 0);
    for (std::size_t i = 0; i < un; ++i) a.row_offsets[i + 1] = a.row_offsets[i] + len[i];
    a.columns.resize(static_cast<std::size_t>(a.row_offsets[un]));
    a.values.resize(a.columns.size());
    double total = 0.0;
    for (std::size_t i = 0; i < un; ++i) {
        const auto src = static_cast<std::size_t>(upper[i]);
        const auto dst = static_cast<std::size_t>(a.row_offsets[i]);
        for (std::size_t t = 0; t < static_cast<std::size_t>(len[i]); ++t) {
            a.columns[dst + t] = cols[src + t];
            a.values[dst + t] = vals[src + t];
            total += vals[src + t];
        }
    }
    total = std::max(total, kEps);
    for (double& v : a.values) v /= total;
    return a;
}

/// A standard normal draw by Box-Muller from two uniforms of `rng` (the pair's second value is
/// dropped): std::normal_distribution's output differs between standard libraries.
double normal(SplitMixRng& rng) {
    const double u1 = rng.uniform();
    const double u2 = rng.uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

constexpr double kInitStd = 1e-4;

/// Column c of the n x 2 map y, filled with N(0, 1e-4^2) noise from `seed` (stream c).
void fill_noise(std::vector<double>& y, std::int64_t n, int c, std::uint64_t seed) {
    SplitMixRng rng(seed * 2 + static_cast<std::uint64_t>(c));
    for (std::int64_t i = 0; i < n; ++i)
        y[static_cast<std::size_t>(2 * i + c)] = kInitStd * normal(rng);
}

std::vector<double> pca_init(const float* x, std::int64_t n, std::int64_t d, std::uint64_t seed,
                             TsneCompat compat) {
    torch::NoGradGuard no_grad;
    const auto ud = static_cast<std::size_t>(d);
    // Column means in double, rows in order, columns split across threads.
    std::vector<double> mean(ud, 0.0);
    at::parallel_for(0, d, 8, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t c = b; c < e; ++c) {
            double s = 0.0;
            for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i * d + c]);
            mean[static_cast<std::size_t>(c)] = s / static_cast<double>(n);
        }
    });
    const torch::Tensor mt = torch::from_blob(mean.data(), {1, d}, torch::kDouble);
    // Covariance (unscaled) over fixed row chunks added in order, and its eigenvectors, on one
    // thread: the BLAS (OpenBLAS with OpenMP) splits its sums by thread count, and the low bits
    // of the start decide the map after a few hundred iterations.
    detail::TorchThreads one_thread(1);
    torch::Tensor cov = torch::zeros({d, d}, torch::kDouble);
    constexpr std::int64_t kChunk = 2048;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): from_blob wants void*; read only.
    const torch::Tensor xt = torch::from_blob(const_cast<float*>(x), {n, d}, torch::kFloat);
    for (std::int64_t r0 = 0; r0 < n; r0 += kChunk) {
        const std::int64_t m = std::min(kChunk, n - r0);
        const torch::Tensor xc = xt.narrow(0, r0, m).to(torch::kDouble) - mt;
        cov.addmm_(xc.t(), xc);
    }
    // Top `dims` eigenvectors (eigh: ascending eigenvalues).
    const auto eig = torch::linalg_eigh(cov);
    const torch::Tensor vecs = std::get<1>(eig).contiguous();
    const double* v = vecs.data_ptr<double>();
    std::vector<double> comp(2 * ud);
    for (std::size_t c = 0; c < 2; ++c) {
        const std::size_t col = ud - 1 - c;
        for (std::size_t q = 0; q < ud; ++q)
            comp[c * ud + q] = d > static_cast<std::int64_t>(c) ? v[q * ud + col] : 0.0;
    }
    if (d < 2) std::fill(comp.begin() + static_cast<std::ptrdiff_t>(ud), comp.end(), 0.0);
    std::vector<double> y(static_cast<std::size_t>(2 * n));
    at::parallel_for(0, n, 256, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            for (std::size_t c = 0; c < 2; ++c) {
                double s = 0.0;
                for (std::size_t q = 0; q < ud; ++q)
                    s += (static_cast<double>(x[static_cast<std::size_t>(i) * ud + q]) - mean[q]) *
                         comp[c * ud + q];
                y[static_cast<std::size_t>(2 * i) + c] = s;
            }
        }
    });
    // scikit-learn: pca.fit_transform(X).astype(np.float32) before the scaling.
    if (compat == TsneCompat::sklearn) {
        for (double& yi : y) yi = static_cast<double>(static_cast<float>(yi));
    }
    // svd_flip: the entry of largest magnitude (first such row) of each component is positive.
    double stds[2] = {0.0, 0.0};
    for (int c = 0; c < 2; ++c) {
        std::int64_t arg = 0;
        double best = -1.0;
        double s1 = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            const double val = y[static_cast<std::size_t>(2 * i + c)];
            if (std::fabs(val) > best) {
                best = std::fabs(val);
                arg = i;
            }
            s1 += val;
        }
        if (y[static_cast<std::size_t>(2 * arg + c)] < 0.0) {
            for (std::int64_t i = 0; i < n; ++i) y[static_cast<std::size_t>(2 * i + c)] *= -1.0;
            s1 = -s1;
        }
        const double mu = s1 / static_cast<double>(n);
        double s2 = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            const double dv = y[static_cast<std::size_t>(2 * i + c)] - mu;
            s2 += dv * dv;
        }
        stds[c] = std::sqrt(s2 / static_cast<double>(n));
    }
    // Scaled so that column 0 has std 1e-4 (scikit-learn 1.2); a zero-variance component (all
    // points identical, or rank < 2) becomes seeded noise so the map can still unfold.
    const bool col0_ok = stds[0] > 0.0 && std::isfinite(stds[0]);
    for (int c = 0; c < 2; ++c) {
        const bool ok = col0_ok && stds[c] > 1e-12 * stds[0];
        if (!ok) {
            fill_noise(y, n, c, seed);
            continue;
        }
        if (compat == TsneCompat::sklearn) {
            // X_embedded / np.std(X_embedded[:, 0]) * 1e-4, in float32 throughout.
            const auto sd = static_cast<float>(stds[0]);
            const auto k_init = static_cast<float>(kInitStd);
            for (std::int64_t i = 0; i < n; ++i) {
                double& yi = y[static_cast<std::size_t>(2 * i + c)];
                yi = static_cast<double>(static_cast<float>(yi) / sd * k_init);
            }
            continue;
        }
        const double scale = kInitStd / stds[0];
        for (std::int64_t i = 0; i < n; ++i) y[static_cast<std::size_t>(2 * i + c)] *= scale;
    }
    return y;
}

/// Row chunks of the attraction (fixed, so its sums do not depend on the thread count): each
/// chunk adds its rows' edges into its own accumulator.
constexpr std::int64_t kAttractionChunks = 8;

/// P laid out for the attraction loop, which streams it once per iteration: 32-bit columns (n <
/// 2^31 is checked) and float values, 8 bytes an entry instead of the CSR's 16. Float P_ij
/// (relative error 6e-8) only perturbs the attractive force at that level.
struct CompactP {
    std::vector<std::int64_t> row_offsets;
    std::vector<std::int32_t> columns;
    std::vector<float> values;
    /// The upper triangle (column > row; P is symmetric) on its own, for the attraction.
    std::vector<std::int64_t> upper_offsets;
    std::vector<std::int32_t> upper_columns;
    std::vector<float> upper_values;
    /// kAttractionChunks + 1 row bounds, the chunks holding about equal numbers of upper entries.
    std::vector<std::int64_t> chunks;
};

CompactP compact(const TsneAffinities& p) {
    SP_CHECK(p.n < (std::int64_t{1} << 31), "tsne: n must be below 2^31");
    CompactP c;
    c.row_offsets = p.row_offsets;
    c.columns.resize(p.columns.size());
    for (std::size_t t = 0; t < p.columns.size(); ++t)
        c.columns[t] = static_cast<std::int32_t>(p.columns[t]);
    c.values.resize(p.values.size());
    for (std::size_t t = 0; t < p.values.size(); ++t) c.values[t] = static_cast<float>(p.values[t]);
    const auto un = static_cast<std::size_t>(p.n);
    c.upper_offsets.assign(un + 1, 0);
    for (std::size_t i = 0; i < un; ++i) {
        for (auto t = p.row_offsets[i]; t < p.row_offsets[i + 1]; ++t) {
            const auto ut = static_cast<std::size_t>(t);
            if (p.columns[ut] <= static_cast<std::int64_t>(i)) continue;
            c.upper_columns.push_back(c.columns[ut]);
            c.upper_values.push_back(c.values[ut]);
        }
        c.upper_offsets[i + 1] = static_cast<std::int64_t>(c.upper_columns.size());
    }
    const std::int64_t total = c.upper_offsets[un];
    c.chunks.assign(static_cast<std::size_t>(kAttractionChunks) + 1, p.n);
    c.chunks[0] = 0;
    std::size_t next = 1;
    for (std::size_t i = 0; i < un && next < static_cast<std::size_t>(kAttractionChunks); ++i) {
        if (c.upper_offsets[i + 1] * kAttractionChunks >= total * static_cast<std::int64_t>(next))
            c.chunks[next++] = static_cast<std::int64_t>(i) + 1;
    }
    return c;
}

/// Two doubles (a point's x and y, or a value for two entries): GCC/Clang vector extensions, so
/// that two divisions are one instruction (SSE2 on x86-64), with the bits of two scalar ones.
using Double2 = double __attribute__((vector_size(16)));

inline Double2 load2(const double* v) {
    Double2 r;
    std::memcpy(&r, v, sizeof r);
    return r;
}

inline void store2(double* v, Double2 r) { std::memcpy(v, &r, sizeof r); }

/// The attractive forces sum_j P_ij w_ij (y_i - y_j), each undirected edge once (P and w are
/// symmetric: the edge adds f to i and -f to j). Chunk c of rows adds its edges into its own
/// accumulator acc[c] (n x 2), covering rows chunks[c].. (its rows' own sums included); row i's
/// force is then sum over chunks c with chunks[c] <= i of acc[c][i], in chunk order
/// (attraction_of). Within a chunk, rows in order; a row's edges in column order, taken in
/// pairs (one division for two), alternating between two partial sums added at the row's end.
void attraction(const CompactP& p, const double* y, std::int64_t n, std::vector<double>& acc) {
    const auto un = static_cast<std::size_t>(n);
    acc.resize(static_cast<std::size_t>(kAttractionChunks) * 2 * un);
    const std::int32_t* col = p.upper_columns.data();
    const float* val = p.upper_values.data();
    at::parallel_for(0, kAttractionChunks, 1, [&](std::int64_t cb, std::int64_t ce) {
        for (std::int64_t c = cb; c < ce; ++c) {
            double* a = acc.data() + static_cast<std::size_t>(c) * 2 * un;
            const auto first = static_cast<std::size_t>(p.chunks[static_cast<std::size_t>(c)]);
            const auto last = static_cast<std::size_t>(p.chunks[static_cast<std::size_t>(c) + 1]);
            std::fill(a + 2 * first, a + 2 * un, 0.0);
            const Double2 one = {1.0, 1.0};
            for (std::size_t i = first; i < last; ++i) {
                const Double2 yi = load2(y + 2 * i);
                Double2 s0 = load2(a + 2 * i); // from this chunk's earlier rows
                Double2 s1 = {0.0, 0.0};
                auto t = static_cast<std::size_t>(p.upper_offsets[i]);
                const auto end = static_cast<std::size_t>(p.upper_offsets[i + 1]);
                for (; t + 2 <= end; t += 2) {
                    const auto j0 = static_cast<std::size_t>(col[t]);
                    const auto j1 = static_cast<std::size_t>(col[t + 1]);
                    const Double2 d0 = yi - load2(y + 2 * j0);
                    const Double2 d1 = yi - load2(y + 2 * j1);
                    const Double2 q0 = d0 * d0;
                    const Double2 q1 = d1 * d1;
                    // 1 + dx^2 + dy^2 of the two edges.
                    const Double2 w = (one + Double2{q0[0], q1[0]}) + Double2{q0[1], q1[1]};
                    const Double2 pw =
                        Double2{static_cast<double>(val[t]), static_cast<double>(val[t + 1])} / w;
                    const Double2 f0 = pw[0] * d0;
                    const Double2 f1 = pw[1] * d1;
                    s0 += f0;
                    s1 += f1;
                    store2(a + 2 * j0, load2(a + 2 * j0) - f0);
                    store2(a + 2 * j1, load2(a + 2 * j1) - f1);
                }
                if (t < end) {
                    const auto j = static_cast<std::size_t>(col[t]);
                    const Double2 dj = yi - load2(y + 2 * j);
                    const Double2 q = dj * dj;
                    const double pw = static_cast<double>(val[t]) / ((1.0 + q[0]) + q[1]);
                    const Double2 f = pw * dj;
                    s0 += f;
                    store2(a + 2 * j, load2(a + 2 * j) - f);
                }
                store2(a + 2 * i, s0 + s1);
            }
        }
    });
}

/// Row i's attractive force from attraction()'s accumulators, chunks in order.
inline Double2 attraction_of(const CompactP& p, const std::vector<double>& acc, std::size_t i,
                             std::size_t n) {
    Double2 f = load2(acc.data() + 2 * i);
    for (std::size_t c = 1; c < static_cast<std::size_t>(kAttractionChunks); ++c) {
        if (static_cast<std::int64_t>(i) < p.chunks[c]) break;
        f += load2(acc.data() + c * 2 * n + 2 * i);
    }
    return f;
}

/// scikit-learn's Barnes-Hut error (compute_gradient_positive): sum over the nonzero P_ij of
/// P'_ij log(max(P'_ij, FLT_MIN) / max(w_ij / z, FLT_MIN)), P' = exaggeration x P, with `z` the
/// normaliser of the gradient. Rows summed in order.
double sklearn_error(const CompactP& p, const double* y, std::int64_t n, double z,
                     double exaggeration) {
    constexpr double kTiny = std::numeric_limits<float>::min();
    std::vector<double> rows(static_cast<std::size_t>(n), 0.0);
    at::parallel_for(0, n, 256, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            double s = 0.0;
            const auto end =
                static_cast<std::size_t>(p.row_offsets[static_cast<std::size_t>(i) + 1]);
            for (auto t = static_cast<std::size_t>(p.row_offsets[static_cast<std::size_t>(i)]);
                 t < end; ++t) {
                const auto j = static_cast<std::size_t>(p.columns[t]);
                const double dx = y[2 * i] - y[2 * j];
                const double dy = y[2 * i + 1] - y[2 * j + 1];
                const double q = 1.0 / (1.0 + dx * dx + dy * dy) / z;
                const double pij = exaggeration * static_cast<double>(p.values[t]);
                s += pij * std::log(std::max(pij, kTiny) / std::max(q, kTiny));
            }
            rows[static_cast<std::size_t>(i)] = s;
        }
    });
    double total = 0.0;
    for (const double r : rows) total += r;
    return total;
}

double kl_divergence(const TsneAffinities& p, const double* y) {
    const double z = tsne_detail::exact_normaliser(y, p.n);
    std::vector<double> rows(static_cast<std::size_t>(p.n), 0.0);
    at::parallel_for(0, p.n, 256, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            double s = 0.0;
            for (auto t = p.row_offsets[static_cast<std::size_t>(i)];
                 t < p.row_offsets[static_cast<std::size_t>(i) + 1]; ++t) {
                const auto j = p.columns[static_cast<std::size_t>(t)];
                const double pij = p.values[static_cast<std::size_t>(t)];
                if (pij <= 0.0) continue;
                const double dx = y[2 * i] - y[2 * j];
                const double dy = y[2 * i + 1] - y[2 * j + 1];
                const double q = std::max(1.0 / (1.0 + dx * dx + dy * dy) / z, kEps);
                s += pij * std::log(std::max(pij, kEps) / q);
            }
            rows[static_cast<std::size_t>(i)] = s;
        }
    });
    double kl = 0.0;
    for (const double r : rows) kl += r;
    return kl;
}

} // namespace

TsneAffinities tsne_affinities(const float* x, std::int64_t n, std::int64_t d, double perplexity,
                               int threads, TsneCompat compat) {
    if (threads < 0)
        throw ConfigError("tsne: threads must be >= 0, got " + std::to_string(threads));
    check_data(x, n, d);
    check_perplexity(perplexity, n);
    detail::TorchThreads guard(threads);
    return affinities(x, n, d, perplexity, compat);
}

std::int64_t tsne_neighbours(double perplexity, std::int64_t n, TsneCompat compat) {
    if (n < 2) throw UndefinedMetric("tsne: need at least 2 points, got " + std::to_string(n));
    check_perplexity(perplexity, n);
    return neighbour_count(perplexity, n, compat);
}

double tsne_kl_divergence(const TsneAffinities& p, const float* y, int threads) {
    if (threads < 0)
        throw ConfigError("tsne: threads must be >= 0, got " + std::to_string(threads));
    if (p.n < 1 || y == nullptr || p.row_offsets.size() != static_cast<std::size_t>(p.n) + 1 ||
        p.columns.size() != p.values.size() ||
        static_cast<std::int64_t>(p.columns.size()) != p.row_offsets.back())
        throw DataError("tsne_kl_divergence: affinities and map do not match");
    detail::TorchThreads guard(threads);
    std::vector<double> yd(static_cast<std::size_t>(2 * p.n));
    for (std::size_t i = 0; i < yd.size(); ++i) yd[i] = static_cast<double>(y[i]);
    return kl_divergence(p, yd.data());
}

TsneResult tsne(const float* x, std::int64_t n, std::int64_t d, const TsneOptions& opt) {
    check_options(opt);
    check_data(x, n, d);
    check_perplexity(opt.perplexity, n);
    SP_CHECK(!g_fail_for_testing.load(), "failure injected by sp::detail::fail_tsne_for_testing");
    detail::TorchThreads guard(opt.threads);

    TsneAffinities p = affinities(x, n, d, opt.perplexity, opt.compat);
    const auto un = static_cast<std::size_t>(n);

    std::vector<double> y;
    if (opt.init == TsneInit::pca) {
        y = pca_init(x, n, d, opt.seed, opt.compat);
    } else {
        y.assign(2 * un, 0.0);
        fill_noise(y, n, 0, opt.seed);
        fill_noise(y, n, 1, opt.seed);
    }
    const bool sklearn = opt.compat == TsneCompat::sklearn;
    // The sklearn mode keeps the map, update and gains in float32, as scikit-learn does.
    if (sklearn) {
        for (double& v : y) v = static_cast<double>(static_cast<float>(v));
    }

    const double lr = opt.learning_rate > 0.0
                          ? opt.learning_rate
                          : std::max(static_cast<double>(n) / opt.early_exaggeration, 200.0);
    std::vector<double> update(2 * un, 0.0);
    std::vector<double> gains(2 * un, 1.0);
    std::vector<double> neg(2 * un, 0.0);
    std::vector<double> next(2 * un, 0.0);
    const CompactP cp = compact(p);
    std::vector<double> attr_acc;
    tsne_detail::FftRepulsion fft;

    // scikit-learn's learning rate (a quarter of sp's: its gradient carries the factor 4).
    const auto lr_sklearn = static_cast<float>(lr / 4.0);
    // The sklearn mode's stopping rule (_gradient_descent): state of the current stage.
    constexpr std::int64_t kCheckEvery = 50; // TSNE._N_ITER_CHECK
    std::int64_t second_stage = opt.exaggeration_iterations;
    double best_error = std::numeric_limits<double>::max();
    std::int64_t best_iter = 0;
    std::vector<double> grad_sq(sklearn ? un : 0, 0.0);
    std::int64_t ran = 0;

    for (std::int64_t it = 0; it < opt.iterations; ++it) {
        throw_if_stop_requested(); // once per iteration (a flag read)
        const bool exaggerating = it < second_stage;
        if (it == second_stage) {
            best_error = std::numeric_limits<double>::max();
            best_iter = it;
        }
        if (it == second_stage && it > 0) {
            // scikit-learn starts its second stage with a fresh update and fresh gains.
            std::fill(update.begin(), update.end(), 0.0);
            std::fill(gains.begin(), gains.end(), 1.0);
        }
        const double exaggeration = exaggerating ? opt.early_exaggeration : 1.0;
        const double momentum = exaggerating ? 0.5 : 0.8;
        const auto momentum_f = static_cast<float>(momentum);
        double z = 0.0;
        switch (opt.method) {
        case TsneMethod::exact:
            z = tsne_detail::repulsion_exact(y.data(), n, neg.data());
            break;
        case TsneMethod::barnes_hut:
            z = sklearn
                    ? tsne_detail::repulsion_barnes_hut_sklearn(y.data(), n, opt.theta, neg.data())
                    : tsne_detail::repulsion_barnes_hut(y.data(), n, opt.theta, neg.data());
            break;
        case TsneMethod::fft:
            z = fft(y.data(), n, neg.data());
            break;
        }
        z = std::max(z, kEps);
        const bool check = sklearn && (it + 1) % kCheckEvery == 0;
        // scikit-learn's error is of the map the gradient was taken at: before the update.
        const double error = check ? sklearn_error(cp, y.data(), n, z, exaggeration) : 0.0;
        // Attraction, then the update per point into `next` (y is read by other points' rows).
        attraction(cp, y.data(), n, attr_acc);
        at::parallel_for(0, n, 256, [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t i = b; i < e; ++i) {
                const Double2 attr = attraction_of(cp, attr_acc, static_cast<std::size_t>(i), un);
                double sq = 0.0;
                for (std::size_t c = 0; c < 2; ++c) {
                    const auto u = 2 * static_cast<std::size_t>(i) + c;
                    const double grad = exaggeration * attr[c] - neg[u] / z;
                    if (sklearn) {
                        // _gradient_descent's step in float32, on scikit-learn's gradient scale.
                        const auto g = static_cast<float>(4.0 * grad);
                        auto upd = static_cast<float>(update[u]);
                        auto gain = static_cast<float>(gains[u]);
                        gain = upd * g < 0.0F ? gain + 0.2F : gain * 0.8F;
                        gain = std::max(gain, 0.01F);
                        const float scaled = g * gain;
                        upd = momentum_f * upd - lr_sklearn * scaled;
                        gains[u] = gain;
                        update[u] = upd;
                        next[u] = static_cast<float>(static_cast<float>(y[u]) + upd);
                        if (check) sq += static_cast<double>(scaled) * scaled;
                        continue;
                    }
                    // delta-bar-delta: grow the gain while the gradient keeps its sign against
                    // the update (scikit-learn's `update * grad < 0`).
                    gains[u] = update[u] * grad < 0.0 ? gains[u] + 0.2 : gains[u] * 0.8;
                    gains[u] = std::max(gains[u], 0.01);
                    update[u] = momentum * update[u] - lr * gains[u] * grad;
                    next[u] = y[u] + update[u];
                }
                if (check) grad_sq[static_cast<std::size_t>(i)] = sq;
            }
        });
        y.swap(next);
        ran = it + 1;
        if (!check) continue;
        double norm = 0.0;
        for (const double v : grad_sq) norm += v;
        norm = std::sqrt(norm);
        // The exaggeration stage's patience is its length (_EXPLORATION_N_ITER).
        const std::int64_t patience =
            exaggerating ? opt.exaggeration_iterations : opt.iterations_without_progress;
        bool stop = false;
        if (error < best_error) {
            best_error = error;
            best_iter = it;
        } else if (it - best_iter > patience) {
            stop = true;
        }
        if (norm <= opt.min_grad_norm) stop = true;
        if (!stop) continue;
        if (exaggerating) {
            second_stage = it + 1; // the second stage starts at the next iteration
        } else {
            break;
        }
    }
    if (!sklearn) ran = opt.iterations;
    throw_if_stop_requested(); // before the final O(n^2) KL
    for (const double v : y) {
        if (!std::isfinite(static_cast<float>(v)))
            throw ConfigError("tsne: the map diverged (non-finite coordinate); lower the "
                              "learning rate");
    }

    TsneResult r;
    r.n = n;
    r.dims = 2;
    r.learning_rate = lr;
    r.neighbours = p.neighbours;
    r.iterations = ran;
    r.exaggeration_iterations = std::min(second_stage, ran);
    // The KL of the map as returned (float32), so that it can be checked from the output alone.
    r.embedding.resize(2 * un);
    for (std::size_t i = 0; i < 2 * un; ++i) {
        r.embedding[i] = static_cast<float>(y[i]);
        y[i] = static_cast<double>(r.embedding[i]);
    }
    r.kl_divergence = kl_divergence(p, y.data());
    return r;
}

} // namespace sp
