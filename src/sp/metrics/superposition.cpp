#include "sp/metrics/superposition.hpp"

#include "sp/metrics/torch_threads.hpp"
#include "sp/util/error.hpp"

#include <torch/linalg.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace sp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
/// Width of the square output tiles of the within-class scatter product (see within_scatter).
constexpr std::int64_t kTile = 64;
/// Rows centred and multiplied per step: bounds the double copy to kChunkRows x d.
constexpr std::int64_t kChunkRows = 2048;
/// Sigma_B's pseudo-inverse drops eigenvalues <= kPinvRtol x the largest. Rounding leaves the
/// null directions at ~1e-15 relative (a few eps x K), so 1e-12 separates them with margin while
/// keeping every direction that carries a between-class spread above 1e-6 of the largest.
constexpr double kPinvRtol = 1e-12;

using detail::SerialBlas;

std::string shape(std::int64_t a, std::int64_t b) {
    return std::to_string(a) + " x " + std::to_string(b);
}

/// Throws DataError naming the first non-finite entry of a rows x cols matrix.
void check_finite(const char* what, const float* v, std::int64_t rows, std::int64_t cols) {
    const auto total = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    for (std::size_t i = 0; i < total; ++i) {
        if (!std::isfinite(v[i])) {
            const auto c = static_cast<std::size_t>(cols);
            throw DataError(std::string(what) + ": non-finite value " + std::to_string(v[i]) +
                            " at row " + std::to_string(i / c) + ", column " +
                            std::to_string(i % c));
        }
    }
}

/// Per-class row counts and means (classes x d, double, rows summed in row order; a class with
/// no rows keeps a zero mean). Columns are split across threads, each summed by one thread.
void class_means(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                 std::int64_t classes, std::vector<std::int64_t>& count,
                 std::vector<double>& mean) {
    const auto ud = static_cast<std::size_t>(d);
    count.assign(static_cast<std::size_t>(classes), 0);
    for (std::int64_t i = 0; i < n; ++i) ++count[static_cast<std::size_t>(labels[i])];
    mean.assign(static_cast<std::size_t>(classes) * ud, 0.0);
    at::parallel_for(0, d, 16, [&](std::int64_t c0, std::int64_t c1) {
        for (std::int64_t i = 0; i < n; ++i) {
            const float* row = x + static_cast<std::size_t>(i) * ud;
            double* m = &mean[static_cast<std::size_t>(labels[i]) * ud];
            for (auto c = static_cast<std::size_t>(c0); c < static_cast<std::size_t>(c1); ++c)
                m[c] += static_cast<double>(row[c]);
        }
    });
    for (std::size_t k = 0; k < count.size(); ++k) {
        if (count[k] == 0) continue;
        for (std::size_t c = 0; c < ud; ++c) mean[k * ud + c] /= static_cast<double>(count[k]);
    }
}

/// Within-class scatter S_W = sum_i (x_i - mu_{y_i})(x_i - mu_{y_i})^T, d x d, row-major.
/// Rows are centred in double kChunkRows at a time; the upper-triangle kTile x kTile tiles of
/// Z^T Z are accumulated one chunk after another (addmm), each tile's product made by one thread
/// on fixed shapes, so the bits do not depend on the thread count.
std::vector<double> within_scatter(const float* x, std::int64_t n, std::int64_t d,
                                   const std::int64_t* labels, const std::vector<double>& mean) {
    const auto ud = static_cast<std::size_t>(d);
    const std::int64_t blocks = (d + kTile - 1) / kTile;
    std::vector<std::pair<std::int64_t, std::int64_t>> tiles;
    for (std::int64_t a = 0; a < blocks; ++a) {
        for (std::int64_t b = a; b < blocks; ++b) tiles.emplace_back(a, b);
    }
    auto width = [&](std::int64_t block) { return std::min(kTile, d - block * kTile); };
    const auto dbl = torch::TensorOptions().dtype(torch::kFloat64);
    std::vector<torch::Tensor> acc;
    acc.reserve(tiles.size());
    for (const auto& [a, b] : tiles) acc.push_back(torch::zeros({width(a), width(b)}, dbl));

    const std::int64_t chunk = std::min(kChunkRows, n);
    torch::Tensor z = torch::empty({chunk, d}, dbl);
    double* zp = z.data_ptr<double>();
    for (std::int64_t start = 0; start < n; start += chunk) {
        const std::int64_t m = std::min(chunk, n - start);
        at::parallel_for(0, m, 64, [&](std::int64_t r0, std::int64_t r1) {
            for (std::int64_t r = r0; r < r1; ++r) {
                const auto i = static_cast<std::size_t>(start + r);
                const float* row = x + i * ud;
                const double* mu = &mean[static_cast<std::size_t>(labels[i]) * ud];
                double* out = zp + static_cast<std::size_t>(r) * ud;
                for (std::size_t c = 0; c < ud; ++c) out[c] = static_cast<double>(row[c]) - mu[c];
            }
        });
        const torch::Tensor zc = z.narrow(0, 0, m);
        at::parallel_for(
            0, static_cast<std::int64_t>(tiles.size()), 1, [&](std::int64_t t0, std::int64_t t1) {
                const SerialBlas serial;
                for (std::int64_t t = t0; t < t1; ++t) {
                    const auto [a, b] = tiles[static_cast<std::size_t>(t)];
                    acc[static_cast<std::size_t>(t)].addmm_(zc.narrow(1, a * kTile, width(a)).t(),
                                                            zc.narrow(1, b * kTile, width(b)));
                }
            });
    }

    std::vector<double> s(ud * ud);
    for (std::size_t t = 0; t < tiles.size(); ++t) {
        const auto [a, b] = tiles[t];
        const torch::Tensor tile = acc[t].contiguous();
        const double* tp = tile.data_ptr<double>();
        const std::int64_t wa = width(a);
        const std::int64_t wb = width(b);
        for (std::int64_t r = 0; r < wa; ++r) {
            for (std::int64_t c = 0; c < wb; ++c) {
                const auto row = static_cast<std::size_t>(a * kTile + r);
                const auto col = static_cast<std::size_t>(b * kTile + c);
                const double v = tp[static_cast<std::size_t>(r * wb + c)];
                s[row * ud + col] = v;
                s[col * ud + row] = v;
            }
        }
    }
    // A diagonal tile is the product of a block with itself: symmetric up to rounding, and the
    // loop above kept its lower half's values. Mirror the upper half for exact symmetry.
    for (std::size_t r = 0; r < ud; ++r) {
        for (std::size_t c = r + 1; c < ud; ++c) s[c * ud + r] = s[r * ud + c];
    }
    return s;
}

/// Eigen-decomposition of a symmetric matrix (LAPACK through LibTorch, single-threaded):
/// eigenvalues ascending, and eigenvectors as columns when `vectors`.
std::pair<std::vector<double>, std::vector<double>>
symmetric_eigen(const std::vector<double>& a, std::int64_t size, bool vectors) {
    const SerialBlas serial;
    const torch::Tensor t =
        torch::from_blob(const_cast<double*>(a.data()), {size, size}, torch::kFloat64).clone();
    std::pair<std::vector<double>, std::vector<double>> out;
    torch::Tensor values;
    if (vectors) {
        auto [w, v] = torch::linalg::eigh(t, "L");
        values = w.contiguous();
        const torch::Tensor vc = v.contiguous();
        out.second.assign(vc.data_ptr<double>(), vc.data_ptr<double>() + vc.numel());
    } else {
        values = torch::linalg::eigvalsh(t, "L").contiguous();
    }
    out.first.assign(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
    return out;
}

/// NC1 = tr(Sigma_W Sigma_B^+) / K in the K-dimensional span of the class means. With M the
/// K x d matrix of rows delta_c = mu_c - mu_G, Sigma_B = M^T M / K shares its nonzero eigenvalues
/// with G = M M^T / K; for G u = lambda u, v = M^T u / sqrt(K lambda) is Sigma_B's unit
/// eigenvector and v^T Sigma_W v = u^T (M Sigma_W M^T) u / (K lambda). This avoids a d x d
/// eigen-decomposition and is exact in exact arithmetic.
double neural_collapse_nc1(const std::vector<double>& delta, std::int64_t k, std::int64_t d,
                           const std::vector<double>& sigma_w) {
    const auto uk = static_cast<std::size_t>(k);
    const auto ud = static_cast<std::size_t>(d);
    std::vector<double> g(uk * uk);
    for (std::size_t a = 0; a < uk; ++a) {
        for (std::size_t b = 0; b <= a; ++b) {
            double dot = 0.0;
            for (std::size_t c = 0; c < ud; ++c) dot += delta[a * ud + c] * delta[b * ud + c];
            g[a * uk + b] = g[b * uk + a] = dot / static_cast<double>(k);
        }
    }
    // T = M Sigma_W (K x d), then P = T M^T (K x K); each entry summed in a fixed order.
    std::vector<double> t(uk * ud, 0.0);
    at::parallel_for(0, k, 1, [&](std::int64_t a0, std::int64_t a1) {
        for (auto a = static_cast<std::size_t>(a0); a < static_cast<std::size_t>(a1); ++a) {
            double* out = &t[a * ud];
            for (std::size_t j = 0; j < ud; ++j) {
                const double m = delta[a * ud + j];
                const double* row = &sigma_w[j * ud];
                for (std::size_t c = 0; c < ud; ++c) out[c] += m * row[c];
            }
        }
    });
    std::vector<double> p(uk * uk);
    for (std::size_t a = 0; a < uk; ++a) {
        for (std::size_t b = 0; b < uk; ++b) {
            double dot = 0.0;
            for (std::size_t c = 0; c < ud; ++c) dot += t[a * ud + c] * delta[b * ud + c];
            p[a * uk + b] = dot;
        }
    }
    const auto [lambda, u] = symmetric_eigen(g, k, /*vectors=*/true);
    const double top = lambda.back();
    if (!(top > 0.0)) return kNaN;
    const std::size_t rank = std::min(uk - 1, ud);
    double sum = 0.0;
    for (std::size_t r = 0; r < rank; ++r) {
        const std::size_t e = uk - 1 - r; // eigenvalues ascending: walk down from the largest
        const double l = lambda[e];
        if (!(l > kPinvRtol * top)) break;
        double quad = 0.0;
        for (std::size_t a = 0; a < uk; ++a) {
            double row = 0.0;
            for (std::size_t b = 0; b < uk; ++b) row += p[a * uk + b] * u[b * uk + e];
            quad += u[a * uk + e] * row;
        }
        sum += quad / (static_cast<double>(k) * l * l);
    }
    return sum / static_cast<double>(k);
}

void check_inputs(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                  std::int64_t classes, const SuperpositionOptions& opt) {
    if (!(opt.responsive_fraction >= 0.0 && opt.responsive_fraction <= 1.0))
        throw ConfigError("superposition: responsive_fraction must be in [0, 1], got " +
                          std::to_string(opt.responsive_fraction));
    if (opt.threads < 0)
        throw ConfigError("superposition: threads must be >= 0, got " +
                          std::to_string(opt.threads));
    if (n < 1 || d < 1)
        throw DataError("superposition: embeddings shape " + shape(n, d) + ", need at least 1 x 1");
    if (classes < 1)
        throw DataError("superposition: classes must be >= 1, got " + std::to_string(classes));
    if (x == nullptr || labels == nullptr)
        throw DataError("superposition: null embeddings or labels");
    for (std::int64_t i = 0; i < n; ++i) {
        if (labels[i] < 0 || labels[i] >= classes)
            throw DataError("superposition: label " + std::to_string(labels[i]) + " at row " +
                            std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
    }
    check_finite("superposition: embeddings", x, n, d);
}

/// The present classes (at least one row), in class order.
std::vector<std::size_t> present_classes(const std::vector<std::int64_t>& count) {
    std::vector<std::size_t> present;
    for (std::size_t c = 0; c < count.size(); ++c) {
        if (count[c] > 0) present.push_back(c);
    }
    return present;
}

/// delta_c = mu_c - mu_G per present class (K x d), with the global mean mu_G from the class
/// sums (classes in order).
std::vector<double> class_deltas(const std::vector<double>& mean,
                                 const std::vector<std::int64_t>& count,
                                 const std::vector<std::size_t>& present, std::size_t ud,
                                 double dn) {
    std::vector<double> global(ud, 0.0);
    for (const std::size_t c : present) {
        for (std::size_t j = 0; j < ud; ++j)
            global[j] += mean[c * ud + j] * static_cast<double>(count[c]);
    }
    for (auto& g : global) g /= dn;
    const std::size_t uk = present.size();
    std::vector<double> delta(uk * ud);
    for (std::size_t a = 0; a < uk; ++a) {
        for (std::size_t j = 0; j < ud; ++j)
            delta[a * ud + j] = mean[present[a] * ud + j] - global[j];
    }
    return delta;
}

/// C = Sigma_W + sum_c (n_c / n) delta_c delta_c^T: the law of total covariance, a sum of two
/// positive semi-definite parts, so no cancellation.
std::vector<double> total_covariance(const std::vector<double>& sigma_w,
                                     const std::vector<double>& delta,
                                     const std::vector<std::int64_t>& count,
                                     const std::vector<std::size_t>& present, std::int64_t d,
                                     double dn) {
    const auto ud = static_cast<std::size_t>(d);
    const std::size_t uk = present.size();
    std::vector<double> cov(ud * ud);
    at::parallel_for(0, d, 8, [&](std::int64_t r0, std::int64_t r1) {
        for (auto r = static_cast<std::size_t>(r0); r < static_cast<std::size_t>(r1); ++r) {
            for (std::size_t c = 0; c < ud; ++c) {
                double between = 0.0;
                for (std::size_t a = 0; a < uk; ++a) {
                    between += static_cast<double>(count[present[a]]) / dn * delta[a * ud + r] *
                               delta[a * ud + c];
                }
                cov[r * ud + c] = sigma_w[r * ud + c] + between;
            }
        }
    });
    return cov;
}

/// Participation ratio and covariance spectrum of C.
void effective_dimensionality(const std::vector<double>& cov, std::int64_t d, Superposition& out) {
    const auto ud = static_cast<std::size_t>(d);
    double trace = 0.0;
    double frob = 0.0;
    for (std::size_t r = 0; r < ud; ++r) {
        trace += cov[r * ud + r];
        for (std::size_t c = 0; c < ud; ++c) frob += cov[r * ud + c] * cov[r * ud + c];
    }
    out.participation_ratio = trace > 0.0 ? trace * trace / frob : 0.0;
    out.covariance_spectrum = symmetric_eigen(cov, d, /*vectors=*/false).first;
    std::reverse(out.covariance_spectrum.begin(), out.covariance_spectrum.end());
    for (auto& l : out.covariance_spectrum) l = std::max(l, 0.0);
}

/// NC1 and tr(Sigma_W) / tr(Sigma_B); NaN when K < 2 or Sigma_B = 0.
void neural_collapse(const std::vector<double>& sigma_w, const std::vector<double>& delta,
                     std::int64_t k, std::int64_t d, Superposition& out) {
    const auto ud = static_cast<std::size_t>(d);
    double trace_w = 0.0;
    for (std::size_t r = 0; r < ud; ++r) trace_w += sigma_w[r * ud + r];
    double trace_b = 0.0;
    for (const double v : delta) trace_b += v * v;
    trace_b /= static_cast<double>(std::max<std::int64_t>(k, 1));
    if (k >= 2 && trace_b > 0.0) {
        out.within_between_ratio = trace_w / trace_b;
        out.nc1 = neural_collapse_nc1(delta, k, d, sigma_w);
    } else {
        out.within_between_ratio = kNaN;
        out.nc1 = kNaN;
    }
}

/// Per-unit selectivity and responsiveness over the present classes, and their means over the
/// live units.
void unit_selectivity(const std::vector<double>& mean, const std::vector<std::size_t>& present,
                      std::int64_t d, double responsive_fraction, Superposition& out) {
    const auto ud = static_cast<std::size_t>(d);
    const std::size_t uk = present.size();
    const auto k = static_cast<std::int64_t>(uk);
    out.unit_selectivity.assign(ud, kNaN);
    out.unit_classes.assign(ud, 0);
    double selectivity_sum = 0.0;
    double classes_sum = 0.0;
    for (std::size_t j = 0; j < ud; ++j) {
        std::size_t best = 0;
        for (std::size_t a = 1; a < uk; ++a) {
            if (mean[present[a] * ud + j] > mean[present[best] * ud + j]) best = a;
        }
        const double mu_max = mean[present[best] * ud + j];
        if (!(mu_max > 0.0)) {
            ++out.dead_units;
            continue;
        }
        const double threshold = responsive_fraction * mu_max;
        std::int64_t responsive = 0;
        double rest = 0.0;
        for (std::size_t a = 0; a < uk; ++a) {
            const double v = mean[present[a] * ud + j];
            if (v > 0.0 && v >= threshold) ++responsive;
            if (a != best) rest += v;
        }
        out.unit_classes[j] = responsive;
        classes_sum += static_cast<double>(responsive);
        if (k >= 2) {
            const double mu_rest = rest / static_cast<double>(k - 1);
            const double s = (mu_max - mu_rest) / (std::abs(mu_max) + std::abs(mu_rest));
            out.unit_selectivity[j] = s;
            selectivity_sum += s;
        }
    }
    const std::int64_t live = d - out.dead_units;
    out.selectivity_mean = live > 0 && k >= 2 ? selectivity_sum / static_cast<double>(live) : kNaN;
    out.classes_per_unit_mean = live > 0 ? classes_sum / static_cast<double>(live) : kNaN;
}

} // namespace

Superposition superposition_measures(const float* x, std::int64_t n, std::int64_t d,
                                     const std::int64_t* labels, std::int64_t classes,
                                     const SuperpositionOptions& opt) {
    check_inputs(x, n, d, labels, classes, opt);
    const detail::TorchThreads guard(opt.threads);
    const torch::NoGradGuard no_grad;
    const auto ud = static_cast<std::size_t>(d);
    const double dn = static_cast<double>(n);

    std::vector<std::int64_t> count;
    std::vector<double> mean;
    class_means(x, n, d, labels, classes, count, mean);
    const std::vector<std::size_t> present = present_classes(count);
    const auto k = static_cast<std::int64_t>(present.size());
    const std::vector<double> delta = class_deltas(mean, count, present, ud, dn);

    std::vector<double> sigma_w = within_scatter(x, n, d, labels, mean);
    for (auto& v : sigma_w) v /= dn;
    const std::vector<double> cov = total_covariance(sigma_w, delta, count, present, d, dn);

    Superposition out;
    out.classes_present = k;
    effective_dimensionality(cov, d, out);
    neural_collapse(sigma_w, delta, k, d, out);
    unit_selectivity(mean, present, d, opt.responsive_fraction, out);
    return out;
}

FeatureDimensionality feature_dimensionality(const float* w, std::int64_t features,
                                             std::int64_t d) {
    if (features < 1 || d < 1)
        throw DataError("feature_dimensionality: weight shape " + shape(features, d) +
                        ", need at least 1 x 1");
    if (w == nullptr) throw DataError("feature_dimensionality: null weight");
    check_finite("feature_dimensionality: weight", w, features, d);
    const auto uf = static_cast<std::size_t>(features);
    const auto ud = static_cast<std::size_t>(d);
    std::vector<double> sq(uf, 0.0);
    double frob = 0.0;
    for (std::size_t i = 0; i < uf; ++i) {
        for (std::size_t c = 0; c < ud; ++c) {
            const double v = static_cast<double>(w[i * ud + c]);
            sq[i] += v * v;
        }
        frob += sq[i];
    }
    FeatureDimensionality out;
    out.per_feature.assign(uf, 0.0);
    for (std::size_t i = 0; i < uf; ++i) {
        if (!(sq[i] > 0.0)) continue; // not represented: D_i = 0
        const double norm = std::sqrt(sq[i]);
        // The j = i term, (W_i_hat . W_i)^2 = ||W_i||^2, is taken exactly so that D_i <= 1.
        double overlap = 0.0;
        for (std::size_t j = 0; j < uf; ++j) {
            if (j == i) {
                overlap += sq[i];
                continue;
            }
            double dot = 0.0;
            for (std::size_t c = 0; c < ud; ++c) {
                dot += static_cast<double>(w[i * ud + c]) * static_cast<double>(w[j * ud + c]);
            }
            dot /= norm;
            overlap += dot * dot;
        }
        out.per_feature[i] = sq[i] / overlap;
    }
    for (const double v : out.per_feature) out.total += v;
    out.dimensions_per_feature = frob > 0.0 ? static_cast<double>(d) / frob : kNaN;
    return out;
}

} // namespace sp
