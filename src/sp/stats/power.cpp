// Power of the two-sided paired t-test and its inverses (see stats.hpp).
#include "sp/stats/stats.hpp"

#include <boost/math/distributions/non_central_t.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <boost/math/policies/policy.hpp>
#include <boost/math/tools/toms748_solve.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

namespace sp::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Extreme arguments (a critical value of a t with df near 0, a huge non-centrality) overflow or
// fail to converge; NaN / inf then flow into the root finders' bracket logic instead of an
// exception escaping from a statistics table.
using Policy = boost::math::policies::policy<
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>>;

bool unit_open(double x) { return x > 0.0 && x < 1.0; }

/// Root of f (increasing, f(lo) < 0 <= f(hi)) to ~1e-13 relative.
template <class F> double solve(F f, double lo, double hi, double f_lo, double f_hi) {
    std::uintmax_t iterations = 300;
    const boost::math::tools::eps_tolerance<double> tolerance(44); // 2^-43 ~ 1.1e-13
    const std::pair<double, double> r =
        boost::math::tools::toms748_solve(f, lo, hi, f_lo, f_hi, tolerance, iterations, Policy());
    return r.first + (r.second - r.first) / 2.0;
}

} // namespace

double paired_t_power(double effect_size, double n, double alpha) {
    if (!(n > 1.0) || !unit_open(alpha) || std::isnan(effect_size) || std::isinf(n)) return kNaN;
    if (std::isinf(effect_size)) return 1.0;
    const double df = n - 1.0;
    const double c = boost::math::quantile(boost::math::complement(
        boost::math::students_t_distribution<double, Policy>(df), alpha / 2.0));
    if (std::isinf(c)) return 0.0; // df -> 0: no finite critical value within range
    const double nc = effect_size * std::sqrt(n);
    const boost::math::non_central_t_distribution<double, Policy> dist(df, nc);
    // SciPy clips each tail to [0, 1] (statsmodels: nct._sf(c) + nct._cdf(-c)).
    const double upper = std::clamp(boost::math::cdf(boost::math::complement(dist, c)), 0.0, 1.0);
    const double lower = std::clamp(boost::math::cdf(dist, -c), 0.0, 1.0);
    return upper + lower;
}

double minimum_detectable_effect(double n, double alpha, double power) {
    if (!(n >= 2.0) || std::isinf(n) || !unit_open(alpha) || !unit_open(power) ||
        !(power > alpha)) {
        return kNaN;
    }
    const auto f = [&](double e) { return paired_t_power(e, n, alpha) - power; };
    // Power rises from alpha at e = 0 towards 1; double the upper end until it is reached.
    double lo = 0.0;
    double f_lo = alpha - power;
    double hi = 1.0;
    double f_hi = f(hi);
    while (!(f_hi >= 0.0)) {
        if (hi > 1e12 || std::isnan(f_hi)) return kNaN;
        lo = hi;
        f_lo = f_hi;
        hi *= 2.0;
        f_hi = f(hi);
    }
    return solve(f, lo, hi, f_lo, f_hi);
}

double pairs_needed(double effect_size, double alpha, double power) {
    if (std::isnan(effect_size) || std::isinf(effect_size) || !unit_open(alpha) ||
        !unit_open(power) || !(power > alpha)) {
        return kNaN;
    }
    if (effect_size == 0.0) return kInf;
    const double e = std::fabs(effect_size); // the two-sided power is even in the effect
    const auto f = [&](double n) {
        const double p = paired_t_power(e, n, alpha);
        return std::isnan(p) ? -1.0 : p - power; // NaN only where df -> 0: power ~ 0
    };
    constexpr double kMaxPairs = 1e7;
    double hi = 2.0;
    double f_hi = f(hi);
    double lo = 1.0;
    double f_lo = 0.0;
    if (f_hi < 0.0) {
        // Double until the power is reached; +inf when even kMaxPairs pairs fall short.
        do {
            lo = hi;
            f_lo = f_hi;
            if (hi >= kMaxPairs) return kInf;
            hi = std::min(2.0 * hi, kMaxPairs);
            f_hi = f(hi);
        } while (f_hi < 0.0);
    } else {
        // Fewer than 2 pairs suffice (a large effect): approach 1 from above.
        bool found = false;
        for (int k = 1; k <= 52 && !found; ++k) {
            lo = 1.0 + std::ldexp(1.0, -k);
            f_lo = f(lo);
            if (f_lo < 0.0) {
                found = true;
            } else {
                hi = lo;
                f_hi = f_lo;
            }
        }
        if (!found) return hi;
    }
    return solve(f, lo, hi, f_lo, f_hi);
}

} // namespace sp::stats
