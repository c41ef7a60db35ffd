#pragma once
/// Statistics across seeds for the reduce stage: summaries with confidence intervals, paired tests
/// between conditions that share seeds, and Holm's correction over a family of tests.
///
///     sp::stats::Summary s = sp::stats::summarize(accuracy_per_seed);          // mean, CIs
///     sp::stats::PairedTest t = sp::stats::paired_test(acc_al, acc_random);    // same seeds
///     std::vector<double> adjusted = sp::stats::holm({t.t_p, u.t_p, v.t_p});
///
/// Conventions (tests/oracle/test_stats.cpp checks them against SciPy 1.10.1 / NumPy 1.24,
/// Debian 12's python3-scipy and python3-numpy):
/// - NaN means "missing" (a replicate without this metric): summarize drops NaN values,
///   paired_test drops pairs where either value is NaN, holm passes NaN through. Infinite values
///   are rejected with sp::DataError.
/// - Statistics that are undefined come back as NaN, never as an exception: a standard deviation
///   of fewer than 2 values, a test on fewer than 2 pairs, a rank test on all-zero differences.
/// - Distribution functions are Boost.Math's (Student's t, normal); SciPy uses Cephes, so
///   p-values and quantiles agree to about 1e-14 relative, not bit for bit.
/// - The bootstrap is deterministic: sp::SplitMixRng (util/rng.hpp, SplitMix64) seeded with
///   the caller's seed, so the same data and seed give the same interval on any platform.

#include <cstdint>
#include <vector>

namespace sp::stats {

/// Descriptive statistics of one metric across seeds, with two 95% (by default) intervals for
/// the mean. Every field is NaN when n == 0; the fields marked "n >= 2" are NaN when n < 2.
struct Summary {
    std::int64_t n = 0;  ///< values used (NaN values dropped)
    double mean = 0.0;   ///< arithmetic mean
    double std = 0.0;    ///< sample standard deviation (ddof = 1); n >= 2
    double median = 0.0; ///< numpy.median: the mean of the two middle values for even n
    double min = 0.0;
    double max = 0.0;
    /// Student-t interval of the mean: mean + sem * t.ppf((1 -+ confidence) / 2, n - 1) with
    /// sem = std / sqrt(n), i.e. scipy.stats.t.interval(confidence, n - 1, loc=mean, scale=sem);
    /// n >= 2. For constant data (std == 0) both ends equal the mean.
    double t_low = 0.0;
    double t_high = 0.0;
    /// Percentile bootstrap interval of the mean; n >= 2. B resamples of n values drawn with
    /// replacement, index j = rng.below(n) from one sp::SplitMixRng(seed) (resample by resample,
    /// value by value); each resample's mean is its values summed in draw order, divided by n.
    /// The B means are sorted and the (1 -+ confidence) / 2 quantiles taken as numpy.quantile's
    /// default ("linear"): h = (B - 1) q, i = floor(h), g = h - i, x[i] + (x[i+1] - x[i]) g, or
    /// x[i+1] - (x[i+1] - x[i]) (1 - g) when g >= 0.5 (NumPy's _lerp, for bit-identical results).
    double boot_low = 0.0;
    double boot_high = 0.0;
};

/// Summary of `x` (any order; NaN values are dropped). `confidence` in (0, 1) applies to both
/// intervals; `bootstrap_resamples` >= 1 is B; `seed` seeds the bootstrap's SplitMixRng.
/// Throws sp::DataError for an infinite value, a confidence outside (0, 1) or B < 1.
Summary summarize(const std::vector<double>& x, double confidence = 0.95,
                  std::int64_t bootstrap_resamples = 10000, std::uint64_t seed = 0);

/// Paired comparison of two conditions over the same seeds: a[i] and b[i] come from seed i.
/// With d = a - b over the n pairs without NaN:
struct PairedTest {
    std::int64_t n = 0;           ///< pairs used (pairs with a NaN dropped)
    double mean_difference = 0.0; ///< mean(d); NaN if n == 0
    /// scipy.stats.ttest_rel(a, b) two-sided: t = mean(d) / sqrt(var(d, ddof=1) / n), p =
    /// 2 * T_{n-1}.cdf(-|t|). NaN for n < 2. When all d are equal (variance exactly 0), SciPy's
    /// 0-division gives what we give: t = NaN, p = NaN if d == 0; t = +-inf, p = 0 otherwise.
    double t = 0.0;
    double t_p = 0.0;
    /// scipy.stats.wilcoxon(a, b) two-sided with SciPy 1.10.1's defaults (zero_method="wilcox",
    /// correction=False, method="auto"): w = min(R+, R-) over the ranks of |d| (average ranks for
    /// ties). p-value:
    /// - exact (n <= 50 and no zero d): the null distribution of R+ for n ranks; ties do NOT
    ///   switch to the approximation in 1.10, and R+ is truncated to an integer for the lookup,
    ///   as SciPy does. p = 1 when int(R+) is the centre n(n+1)/4 (rounded down), else
    ///   min(1, 2 min(P(R+ <= r), P(R+ >= r))).
    /// - normal approximation (n > 50, or any zero d): zeros dropped, n' nonzero d, z = (w -
    ///   n'(n'+1)/4) / sqrt((n'(n'+1)(2n'+1) - sum_ties (t^3 - t) / 2) / 24), p = 2 Phi(-|z|).
    /// NaN for n == 0 and when every d is zero (SciPy raises ValueError there).
    double w = 0.0;
    double w_p = 0.0;
    /// Cohen's d_z = mean(d) / std(d, ddof=1) (= t / sqrt(n)); NaN for n < 2, +-inf / NaN for
    /// zero variance like t.
    double cohens_dz = 0.0;
    /// Hedges' g for paired data: d_z * J with the small-sample correction J = 1 - 3 / (4 df - 1),
    /// df = n - 1 (Hedges 1981; Borenstein et al., Introduction to Meta-Analysis, 2009, eq. 4.22;
    /// Lakens 2013, Front. Psychol. 4:863). J = 0 for n = 2 (as the exact Gamma-function J).
    double hedges_g = 0.0;
};

/// Paired t and Wilcoxon signed-rank tests and effect sizes of a against b. Throws sp::DataError
/// if the sizes differ or a value is infinite.
PairedTest paired_test(const std::vector<double>& a, const std::vector<double>& b);

/// Holm-Bonferroni adjusted p-values, in the order given (statsmodels multipletests
/// method="holm"): with the m non-NaN p sorted ascending, p_(i) * (m - i) for i from 0, made
/// non-decreasing by a running maximum and capped at 1. NaN entries stay NaN and do not count
/// in m. Throws sp::DataError for a p-value outside [0, 1].
std::vector<double> holm(const std::vector<double>& p);

} // namespace sp::stats
