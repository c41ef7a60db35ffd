#include "sp/stats/stats.hpp"

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
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

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

double mean_of(const std::vector<double>& x) {
    double sum = 0.0;
    for (const double v : x) sum += v;
    return sum / static_cast<double>(x.size());
}

/// Mean and sample variance (ddof = 1, two-pass). Exactly (x[0], 0) when all values are equal,
/// which a rounded sum / n need not give; SciPy's zero-variance results (t = +-inf) assume it.
void mean_var(const std::vector<double>& x, double& mean, double& var) {
    const bool constant = std::all_of(x.begin(), x.end(), [&](double v) { return v == x.front(); });
    if (constant) {
        mean = x.front();
        var = x.size() >= 2 ? 0.0 : kNaN;
        return;
    }
    mean = mean_of(x);
    double ss = 0.0;
    for (const double v : x) ss += (v - mean) * (v - mean);
    var = ss / static_cast<double>(x.size() - 1);
}

/// numpy.quantile(sorted, q) with the default "linear" method, including NumPy's _lerp, which
/// interpolates from the upper value when the weight is >= 0.5.
double quantile_sorted(const std::vector<double>& sorted, double q) {
    const auto n = static_cast<std::int64_t>(sorted.size());
    const double h = static_cast<double>(n - 1) * q;
    if (h >= static_cast<double>(n - 1)) return sorted.back();
    if (h <= 0.0) return sorted.front();
    const auto i = static_cast<std::int64_t>(std::floor(h));
    const double g = h - static_cast<double>(i);
    const double a = sorted[at(i)];
    const double b = sorted[at(i + 1)];
    const double diff = b - a;
    return g >= 0.5 ? b - diff * (1.0 - g) : a + diff * g;
}

/// Two-sided p of a Student t statistic: 2 * cdf(-|t|) with df degrees of freedom (SciPy:
/// stdtr(df, -|t|) * 2).
double t_two_sided(double t, double df) {
    if (std::isnan(t)) return kNaN;
    if (std::isinf(t)) return 0.0;
    const boost::math::students_t dist(df);
    return 2.0 * boost::math::cdf(dist, -std::fabs(t));
}

/// Average ranks (1-based) of `v`, ties sharing the mean of their positions (scipy rankdata).
std::vector<double> average_ranks(const std::vector<double>& v, std::vector<std::int64_t>& ties) {
    const auto n = static_cast<std::int64_t>(v.size());
    std::vector<std::int64_t> order(at(n));
    for (std::int64_t i = 0; i < n; ++i) order[at(i)] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int64_t x, std::int64_t y) { return v[at(x)] < v[at(y)]; });
    std::vector<double> rank(at(n));
    ties.clear();
    for (std::int64_t i = 0; i < n;) {
        std::int64_t j = i + 1;
        while (j < n && v[at(order[at(j)])] == v[at(order[at(i)])]) ++j;
        // Positions i .. j-1 (0-based) share rank ((i + 1) + j) / 2.
        const double r = 0.5 * static_cast<double>(i + 1 + j);
        for (std::int64_t k = i; k < j; ++k) rank[at(order[at(k)])] = r;
        if (j - i > 1) ties.push_back(j - i);
        i = j;
    }
    return rank;
}

/// Null distribution of R+ for n ranks, P(R+ = r) for r = 0 .. n(n+1)/2, by SciPy's recursion
/// (_get_wilcoxon_distr) with the same double operations.
std::vector<double> wilcoxon_pmf(std::int64_t n) {
    std::vector<double> c{1.0};
    for (std::int64_t k = 1; k <= n; ++k) {
        std::vector<double> next(at(k * (k + 1) / 2 + 1), 0.0);
        const std::size_t m = c.size();
        for (std::size_t i = 0; i < m; ++i) next[i] = c[i] * 0.5;
        const std::size_t off = next.size() - m;
        for (std::size_t i = 0; i < m; ++i) next[off + i] += c[i] * 0.5;
        c = std::move(next);
    }
    return c;
}

void wilcoxon(const std::vector<double>& d, double& w, double& p) {
    w = p = kNaN;
    const auto n = static_cast<std::int64_t>(d.size());
    if (n == 0) return;
    const auto zeros = std::count(d.begin(), d.end(), 0.0);
    // SciPy 1.10 "auto": exact for n <= 50, switched to the approximation by any zero
    // difference (after a warning); ties alone do not switch it.
    const bool exact = n <= 50 && zeros == 0;
    std::vector<double> kept;
    for (const double v : d) {
        if (exact || v != 0.0) kept.push_back(v);
    }
    if (kept.empty()) return; // all differences zero: SciPy raises ValueError
    std::vector<double> mag(kept.size());
    std::transform(kept.begin(), kept.end(), mag.begin(), [](double v) { return std::fabs(v); });
    std::vector<std::int64_t> ties;
    const std::vector<double> rank = average_ranks(mag, ties);
    double r_plus = 0.0;
    double r_minus = 0.0;
    for (std::size_t i = 0; i < kept.size(); ++i) {
        if (kept[i] > 0.0) r_plus += rank[i];
        if (kept[i] < 0.0) r_minus += rank[i];
    }
    w = std::min(r_plus, r_minus);
    const auto count = static_cast<double>(kept.size());
    if (exact) {
        const std::vector<double> pmf = wilcoxon_pmf(static_cast<std::int64_t>(kept.size()));
        // SciPy truncates a tied (half-integer) R+ with int() before the lookup.
        const auto r = static_cast<std::size_t>(r_plus);
        if (r == (pmf.size() - 1) / 2) {
            p = 1.0;
            return;
        }
        double p_less = 0.0;
        double p_greater = 0.0;
        for (std::size_t i = 0; i <= r; ++i) p_less += pmf[i];
        for (std::size_t i = r; i < pmf.size(); ++i) p_greater += pmf[i];
        p = std::clamp(2.0 * std::min(p_less, p_greater), 0.0, 1.0);
        return;
    }
    const double mn = count * (count + 1.0) * 0.25;
    double se = count * (count + 1.0) * (2.0 * count + 1.0);
    for (const std::int64_t t : ties) {
        const auto tf = static_cast<double>(t);
        se -= 0.5 * (tf * (tf * tf - 1.0));
    }
    se = std::sqrt(se / 24.0);
    const double z = (w - mn) / se;
    const boost::math::normal_distribution<double> normal;
    p = 2.0 * boost::math::cdf(boost::math::complement(normal, std::fabs(z)));
}

} // namespace

Summary summarize(const std::vector<double>& x, double confidence, std::int64_t bootstrap_resamples,
                  std::uint64_t seed) {
    if (!(confidence > 0.0 && confidence < 1.0)) {
        throw DataError("stats: confidence " + show(confidence) + " is outside (0, 1)");
    }
    if (bootstrap_resamples < 1) {
        throw DataError("stats: bootstrap_resamples " + std::to_string(bootstrap_resamples) +
                        " is below 1");
    }
    check_finite_or_nan(x, "x");
    std::vector<double> v;
    v.reserve(x.size());
    for (const double e : x) {
        if (!std::isnan(e)) v.push_back(e);
    }
    Summary s;
    s.n = static_cast<std::int64_t>(v.size());
    s.mean = s.std = s.median = s.min = s.max = kNaN;
    s.t_low = s.t_high = s.boot_low = s.boot_high = kNaN;
    if (v.empty()) return s;

    double var = 0.0;
    mean_var(v, s.mean, var);
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    s.min = sorted.front();
    s.max = sorted.back();
    const std::size_t mid = sorted.size() / 2;
    s.median = sorted.size() % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0;
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

    SplitMixRng rng(seed);
    std::vector<double> means(at(bootstrap_resamples));
    const auto n = static_cast<std::uint64_t>(s.n);
    for (double& m : means) {
        double sum = 0.0;
        for (std::uint64_t k = 0; k < n; ++k) sum += v[rng.below(n)];
        m = sum / static_cast<double>(n);
    }
    std::sort(means.begin(), means.end());
    s.boot_low = quantile_sorted(means, q_low);
    s.boot_high = quantile_sorted(means, q_high);
    return s;
}

PairedTest paired_test(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) {
        throw DataError("stats: paired test of " + std::to_string(a.size()) + " against " +
                        std::to_string(b.size()) + " values; the sizes must match");
    }
    check_finite_or_nan(a, "a");
    check_finite_or_nan(b, "b");
    std::vector<double> d;
    d.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!std::isnan(a[i]) && !std::isnan(b[i])) d.push_back(a[i] - b[i]);
    }
    PairedTest r;
    r.n = static_cast<std::int64_t>(d.size());
    r.mean_difference = r.t = r.t_p = r.w = r.w_p = r.cohens_dz = r.hedges_g = kNaN;
    if (d.empty()) return r;
    double var = 0.0;
    mean_var(d, r.mean_difference, var);
    wilcoxon(d, r.w, r.w_p);
    if (r.n < 2) return r;

    const auto n = static_cast<double>(r.n);
    // SciPy: mean / sqrt(var / n) with IEEE division: 0/0 = NaN, x/0 = +-inf.
    r.t = r.mean_difference / std::sqrt(var / n);
    r.t_p = t_two_sided(r.t, n - 1.0);
    r.cohens_dz = r.mean_difference / std::sqrt(var);
    const double df = n - 1.0;
    r.hedges_g = r.cohens_dz * (1.0 - 3.0 / (4.0 * df - 1.0));
    return r;
}

std::vector<double> holm(const std::vector<double>& p) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (std::isnan(p[i])) continue;
        if (!(p[i] >= 0.0 && p[i] <= 1.0)) {
            throw DataError("stats: holm: p[" + std::to_string(i) + "] = " + show(p[i]) +
                            " is outside [0, 1]");
        }
        order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
    std::vector<double> out(p.size(), kNaN);
    const std::size_t m = order.size();
    double running = 0.0;
    for (std::size_t k = 0; k < m; ++k) {
        running = std::max(running, p[order[k]] * static_cast<double>(m - k));
        out[order[k]] = std::min(running, 1.0);
    }
    return out;
}

} // namespace sp::stats
