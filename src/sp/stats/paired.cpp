// paired_test: the paired comparison of two conditions over shared seeds (see stats.hpp).
#include "sp/stats/stats.hpp"

#include "sp/stats/stats_detail.hpp"
#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

namespace sp::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_options(const PairedOptions& o) {
    detail::check_confidence(o.confidence);
    if (o.bootstrap_resamples < 1) {
        throw DataError("stats: paired test: bootstrap_resamples " +
                        std::to_string(o.bootstrap_resamples) + " is below 1");
    }
    if (o.exact_max_n < 0 || o.exact_max_n > 30) {
        throw DataError("stats: paired test: exact_max_n " + std::to_string(o.exact_max_n) +
                        " is outside [0, 30] (2^n sign flips are enumerated)");
    }
    if (o.permutation_resamples < 1) {
        throw DataError("stats: paired test: permutation_resamples " +
                        std::to_string(o.permutation_resamples) + " is below 1");
    }
    const double m = o.equivalence_margin;
    if (!std::isnan(m) && !(m > 0.0 && std::isfinite(m))) {
        throw DataError("stats: paired test: equivalence_margin " + detail::show(m) +
                        " must be positive and finite (NaN: no equivalence test)");
    }
}

/// P(T <= t) and P(T >= t) for Student's t with df degrees of freedom, IEEE-style at +-inf and
/// NaN (SciPy's stdtr).
double t_cdf(double t, double df) {
    if (std::isnan(t)) return kNaN;
    if (std::isinf(t)) return t > 0.0 ? 1.0 : 0.0;
    return boost::math::cdf(boost::math::students_t(df), t);
}
double t_sf(double t, double df) {
    if (std::isnan(t)) return kNaN;
    if (std::isinf(t)) return t > 0.0 ? 0.0 : 1.0;
    return boost::math::cdf(boost::math::complement(boost::math::students_t(df), t));
}

/// All 2^k signed sums of d[first, first + k), each added left to right from 0 (so the sum of
/// one sign vector is the same rounding sequence as a direct loop over it).
std::vector<double> signed_sums(const std::vector<double>& d, std::size_t first, std::size_t k) {
    std::vector<double> sums(std::size_t{1} << k);
    sums[0] = 0.0;
    std::size_t size = 1;
    for (std::size_t j = 0; j < k; ++j) {
        const double v = d[first + j];
        for (std::size_t i = 0; i < size; ++i) {
            const double s = sums[i];
            sums[i] = s + v;
            sums[i + size] = s - v;
        }
        size *= 2;
    }
    return sums;
}

/// The two-sided sign-flip permutation p of mean(d) (SciPy's permutation_test, see stats.hpp).
double signflip_p(const std::vector<double>& d, double observed, const PairedOptions& o,
                  bool& exact) {
    const std::size_t n = d.size();
    const auto nd = static_cast<double>(n);
    // SciPy's tolerance for null values that equal the observed one up to rounding.
    const double gamma = std::max(1e-14, std::fabs(1e-14 * observed));
    const double upper = observed + gamma; // null <= upper counts for p_less
    const double lower = observed - gamma; // null >= lower counts for p_greater
    std::int64_t n_less = 0;
    std::int64_t n_greater = 0;
    exact = static_cast<std::int64_t>(n) <= o.exact_max_n;
    if (exact) {
        // Meet in the middle: every sign vector's sum is (signed sum of the first half) +
        // (signed sum of the second half), 2^(n/2) + 2^(n - n/2) partial sums instead of n 2^n
        // additions; the double loop is the only O(2^n) part.
        const std::size_t h = n / 2;
        const std::vector<double> left = signed_sums(d, 0, h);
        const std::vector<double> right = signed_sums(d, h, n - h);
        for (const double l : left) {
            std::int64_t less = 0;
            std::int64_t greater = 0;
            for (const double r : right) {
                const double v = (l + r) / nd;
                less += v <= upper ? 1 : 0;
                greater += v >= lower ? 1 : 0;
            }
            n_less += less;
            n_greater += greater;
        }
        const double total = std::ldexp(1.0, static_cast<int>(n));
        const double p_less = static_cast<double>(n_less) / total;
        const double p_greater = static_cast<double>(n_greater) / total;
        return std::min(1.0, 2.0 * std::min(p_less, p_greater));
    }
    // Monte Carlo: each resample takes ceil(n / 64) draws; bit k % 64 of draw k / 64 set means
    // d[k] is negated.
    SplitMixRng rng(o.seed);
    const std::size_t words = (n + 63) / 64;
    std::vector<std::uint64_t> bits(words);
    for (std::int64_t r = 0; r < o.permutation_resamples; ++r) {
        for (std::uint64_t& w : bits) w = rng.next();
        double sum = 0.0;
        for (std::size_t k = 0; k < n; ++k) {
            sum += ((bits[k / 64] >> (k % 64)) & 1U) != 0 ? -d[k] : d[k];
        }
        const double v = sum / nd;
        n_less += v <= upper ? 1 : 0;
        n_greater += v >= lower ? 1 : 0;
    }
    const auto total = static_cast<double>(o.permutation_resamples + 1);
    const double p_less = static_cast<double>(n_less + 1) / total;
    const double p_greater = static_cast<double>(n_greater + 1) / total;
    return std::min(1.0, 2.0 * std::min(p_less, p_greater));
}

/// The BCa interval of mean(d) from the seeded bootstrap means (SciPy's _bca_interval).
void bca_interval(const std::vector<double>& d, const PairedOptions& o, double& low, double& high) {
    low = high = kNaN;
    const auto nd = static_cast<double>(d.size());
    if (std::all_of(d.begin(), d.end(), [&](double v) { return v == d.front(); })) return;
    std::vector<double> means = detail::bootstrap_means(d, o.bootstrap_resamples, o.seed);
    // The observed mean as the resampled ones are computed (sum in order / n), so a resample
    // that is a permutation of d ties with it exactly when the sums agree.
    const double theta = detail::sum_in_order(d) / nd;
    std::int64_t below = 0;
    std::int64_t at_or_below = 0;
    for (const double m : means) {
        below += m < theta ? 1 : 0;
        at_or_below += m <= theta ? 1 : 0;
    }
    const double z0 = detail::normal_quantile(static_cast<double>(below + at_or_below) /
                                              (2.0 * static_cast<double>(means.size())));
    // Acceleration from the jackknife means theta_i = (S - d_i) / (n - 1): SciPy's
    // U_i = (n - 1) (mean(theta_.) - theta_i) is d_i - mean(d) exactly in real arithmetic, and
    // a = sum U^3 / n^3 / (6 (sum U^2 / n^2)^1.5) = sum u^3 / (6 (sum u^2)^1.5), computed here
    // from the centred d without SciPy's cancellation.
    const double mean = theta;
    double s2 = 0.0;
    double s3 = 0.0;
    for (const double v : d) {
        const double u = v - mean;
        s2 += u * u;
        s3 += u * u * u;
    }
    const double a = s3 / (6.0 * std::pow(s2, 1.5));
    const double z_alpha = detail::normal_quantile((1.0 - o.confidence) / 2.0);
    const double num1 = z0 + z_alpha;
    const double alpha_1 = detail::normal_cdf(z0 + num1 / (1.0 - a * num1));
    const double num2 = z0 - z_alpha;
    const double alpha_2 = detail::normal_cdf(z0 + num2 / (1.0 - a * num2));
    std::sort(means.begin(), means.end());
    low = detail::percentile_sorted(means, alpha_1 * 100.0);
    high = detail::percentile_sorted(means, alpha_2 * 100.0);
}

} // namespace

PairedTest paired_test(const std::vector<double>& a, const std::vector<double>& b,
                       const PairedOptions& options) {
    if (a.size() != b.size()) {
        throw DataError("stats: paired test of " + std::to_string(a.size()) + " against " +
                        std::to_string(b.size()) + " values; the sizes must match");
    }
    detail::check_finite_or_nan(a, "a");
    detail::check_finite_or_nan(b, "b");
    check_options(options);
    std::vector<double> d;
    std::vector<double> a_kept;
    std::vector<double> b_kept;
    d.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i]) || std::isnan(b[i])) continue;
        d.push_back(a[i] - b[i]);
        a_kept.push_back(a[i]);
        b_kept.push_back(b[i]);
    }
    PairedTest r;
    r.n = static_cast<std::int64_t>(d.size());
    r.mean_difference = r.sd_difference = r.t_low = r.t_high = r.bca_low = r.bca_high = kNaN;
    r.t = r.t_p = r.signflip_p = r.tost_p = r.tost_p_low = r.tost_p_high = kNaN;
    r.cohens_dz = r.hedges_gz = r.cohens_dav = kNaN;
    r.signflip_exact = r.n <= options.exact_max_n;
    if (d.empty()) return r;
    double var = 0.0;
    detail::mean_var(d, r.mean_difference, var);
    r.signflip_p = signflip_p(d, r.mean_difference, options, r.signflip_exact);
    if (r.n < 2) return r;

    const auto n = static_cast<double>(r.n);
    const double df = n - 1.0;
    r.sd_difference = std::sqrt(var);
    const double sem = std::sqrt(var / n);
    if (sem == 0.0) {
        r.t_low = r.t_high = r.mean_difference;
    } else {
        const boost::math::students_t dist(df);
        r.t_low =
            r.mean_difference + sem * boost::math::quantile(dist, (1.0 - options.confidence) / 2.0);
        r.t_high =
            r.mean_difference + sem * boost::math::quantile(dist, (1.0 + options.confidence) / 2.0);
    }
    bca_interval(d, options, r.bca_low, r.bca_high);

    // SciPy: mean / sqrt(var / n) with IEEE division: 0/0 = NaN, x/0 = +-inf.
    r.t = r.mean_difference / sem;
    r.t_p = std::isinf(r.t) ? 0.0 : 2.0 * t_cdf(-std::fabs(r.t), df);
    if (!std::isnan(options.equivalence_margin)) {
        const double m = options.equivalence_margin;
        r.tost_p_low = t_sf((r.mean_difference + m) / sem, df);   // H0: mean(d) <= -m
        r.tost_p_high = t_cdf((r.mean_difference - m) / sem, df); // H0: mean(d) >= m
        r.tost_p = std::isnan(r.tost_p_low) || std::isnan(r.tost_p_high)
                       ? kNaN
                       : std::max(r.tost_p_low, r.tost_p_high);
    }
    r.cohens_dz = r.mean_difference / std::sqrt(var);
    r.hedges_gz = r.cohens_dz * (1.0 - 3.0 / (4.0 * df - 1.0));
    double mean_a = 0.0;
    double var_a = 0.0;
    double mean_b = 0.0;
    double var_b = 0.0;
    detail::mean_var(a_kept, mean_a, var_a);
    detail::mean_var(b_kept, mean_b, var_b);
    const double spread = (std::sqrt(var_a) + std::sqrt(var_b)) / 2.0;
    r.cohens_dav = spread > 0.0 ? r.mean_difference / spread : kNaN;
    return r;
}

} // namespace sp::stats
