#include "sp/stats/stats.hpp"

#include "sp/stats/stats_detail.hpp"
#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <sstream>
#include <string>

namespace sp::stats {
namespace detail {

std::string show(double v) {
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
}

void check_finite_or_nan(const std::vector<double>& x, const char* what) {
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (std::isinf(x[i])) {
            throw DataError(std::string("stats: ") + what + "[" + std::to_string(i) +
                            "] is infinite (" + show(x[i]) + "); NaN marks a missing value");
        }
    }
}

void check_confidence(double confidence) {
    if (!(confidence > 0.0 && confidence < 1.0)) {
        throw DataError("stats: confidence " + show(confidence) + " is outside (0, 1)");
    }
}

double sum_in_order(const std::vector<double>& x) {
    double sum = 0.0;
    for (const double v : x) sum += v;
    return sum;
}

void mean_var(const std::vector<double>& x, double& mean, double& var) {
    const bool constant = std::all_of(x.begin(), x.end(), [&](double v) { return v == x.front(); });
    if (constant) {
        mean = x.front();
        var = x.size() >= 2 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
        return;
    }
    mean = sum_in_order(x) / static_cast<double>(x.size());
    double ss = 0.0;
    for (const double v : x) ss += (v - mean) * (v - mean);
    var = ss / static_cast<double>(x.size() - 1);
}

double quantile_sorted(const std::vector<double>& sorted, double q) {
    if (std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
    const auto n = static_cast<std::int64_t>(sorted.size());
    const double h = static_cast<double>(n - 1) * q;
    if (h >= static_cast<double>(n - 1)) return sorted.back();
    if (h <= 0.0) return sorted.front();
    const auto i = static_cast<std::size_t>(std::floor(h));
    const double g = h - static_cast<double>(i);
    const double a = sorted[i];
    const double b = sorted[i + 1];
    const double diff = b - a;
    return g >= 0.5 ? b - diff * (1.0 - g) : a + diff * g;
}

double percentile_sorted(const std::vector<double>& sorted, double percent) {
    return quantile_sorted(sorted, percent / 100.0);
}

std::vector<double> bootstrap_means(const std::vector<double>& x, std::int64_t resamples,
                                    std::uint64_t seed) {
    SplitMixRng rng(seed);
    std::vector<double> means(static_cast<std::size_t>(resamples));
    const auto n = static_cast<std::uint64_t>(x.size());
    for (double& m : means) {
        double sum = 0.0;
        for (std::uint64_t k = 0; k < n; ++k) sum += x[rng.below(n)];
        m = sum / static_cast<double>(n);
    }
    return means;
}

double normal_cdf(double z) {
    if (std::isnan(z)) return z;
    if (std::isinf(z)) return z > 0.0 ? 1.0 : 0.0;
    return boost::math::cdf(boost::math::normal_distribution<double>(), z);
}

double normal_quantile(double p) {
    if (!(p >= 0.0 && p <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
    if (p == 0.0) return -std::numeric_limits<double>::infinity();
    if (p == 1.0) return std::numeric_limits<double>::infinity();
    return boost::math::quantile(boost::math::normal_distribution<double>(), p);
}

} // namespace detail

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Throws sp::DataError unless every non-NaN p is in [0, 1]; returns the indices of the non-NaN
/// values sorted by p ascending (ties in input order).
std::vector<std::size_t> sorted_pvalues(const std::vector<double>& p, const char* what) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (std::isnan(p[i])) continue;
        if (!(p[i] >= 0.0 && p[i] <= 1.0)) {
            throw DataError(std::string("stats: ") + what + ": p[" + std::to_string(i) +
                            "] = " + detail::show(p[i]) + " is outside [0, 1]");
        }
        order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
    return order;
}

} // namespace

Summary summarize(const std::vector<double>& x, double confidence, std::int64_t bootstrap_resamples,
                  std::uint64_t seed) {
    detail::check_confidence(confidence);
    if (bootstrap_resamples < 1) {
        throw DataError("stats: bootstrap_resamples " + std::to_string(bootstrap_resamples) +
                        " is below 1");
    }
    detail::check_finite_or_nan(x, "x");
    std::vector<double> v;
    v.reserve(x.size());
    for (const double e : x) {
        if (!std::isnan(e)) v.push_back(e);
    }
    Summary s;
    s.n = static_cast<std::int64_t>(v.size());
    s.mean = s.std = s.median = s.q25 = s.q75 = s.min = s.max = kNaN;
    s.t_low = s.t_high = s.boot_low = s.boot_high = kNaN;
    if (v.empty()) return s;

    double var = 0.0;
    detail::mean_var(v, s.mean, var);
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    s.min = sorted.front();
    s.max = sorted.back();
    const std::size_t mid = sorted.size() / 2;
    s.median = sorted.size() % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0;
    s.q25 = detail::percentile_sorted(sorted, 25.0);
    s.q75 = detail::percentile_sorted(sorted, 75.0);
    if (s.n < 2) return s;

    s.std = std::sqrt(var);
    const double q_low = (1.0 - confidence) / 2.0;
    const double q_high = (1.0 + confidence) / 2.0;
    // SciPy returns NaN for scale 0 (an invalid scale); the interval of constant data is the
    // point itself, as the bootstrap's is.
    const double sem = s.std / std::sqrt(static_cast<double>(s.n));
    if (sem == 0.0) {
        s.t_low = s.t_high = s.mean;
    } else {
        const boost::math::students_t dist(static_cast<double>(s.n - 1));
        s.t_low = s.mean + sem * boost::math::quantile(dist, q_low);
        s.t_high = s.mean + sem * boost::math::quantile(dist, q_high);
    }

    std::vector<double> means = detail::bootstrap_means(v, bootstrap_resamples, seed);
    std::sort(means.begin(), means.end());
    s.boot_low = detail::quantile_sorted(means, q_low);
    s.boot_high = detail::quantile_sorted(means, q_high);
    return s;
}

std::vector<double> holm(const std::vector<double>& p) {
    const std::vector<std::size_t> order = sorted_pvalues(p, "holm");
    std::vector<double> out(p.size(), kNaN);
    const std::size_t m = order.size();
    double running = 0.0;
    for (std::size_t k = 0; k < m; ++k) {
        running = std::max(running, p[order[k]] * static_cast<double>(m - k));
        out[order[k]] = std::min(running, 1.0);
    }
    return out;
}

std::vector<double> benjamini_hochberg(const std::vector<double>& p) {
    const std::vector<std::size_t> order = sorted_pvalues(p, "benjamini_hochberg");
    std::vector<double> out(p.size(), kNaN);
    const std::size_t m = order.size();
    // statsmodels divides by the ECDF factor (i + 1) / m rather than multiplying by m / (i + 1);
    // the same operations give the same roundings.
    double running = 1.0;
    for (std::size_t k = m; k-- > 0;) {
        const double factor = static_cast<double>(k + 1) / static_cast<double>(m);
        running = std::min(running, p[order[k]] / factor);
        out[order[k]] = running;
    }
    return out;
}

double aubc(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() != y.size()) {
        throw DataError("stats: aubc of " + std::to_string(x.size()) + " budget points and " +
                        std::to_string(y.size()) + " values; the sizes must match");
    }
    detail::check_finite_or_nan(x, "aubc x");
    detail::check_finite_or_nan(y, "aubc y");
    for (std::size_t i = 0; i + 1 < x.size(); ++i) {
        if (!(x[i] < x[i + 1])) {
            throw DataError("stats: aubc: budget points x[" + std::to_string(i) +
                            "] = " + detail::show(x[i]) + " and x[" + std::to_string(i + 1) +
                            "] = " + detail::show(x[i + 1]) + " are not strictly increasing");
        }
    }
    if (x.size() == 1 && std::isnan(x[0])) {
        throw DataError("stats: aubc: budget point x[0] is NaN");
    }
    if (x.size() < 2) return kNaN;
    double area = 0.0;
    for (std::size_t i = 0; i + 1 < x.size(); ++i) {
        area += (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0;
    }
    return area / (x.back() - x.front()); // NaN when a y is NaN
}

} // namespace sp::stats
