#pragma once
/// Statistics across seeds for the reduce stage: summaries with confidence intervals, paired
/// comparisons between conditions that share seeds (difference with intervals, paired t, exact
/// sign-flip permutation test, TOST equivalence, effect sizes), multiplicity corrections (Holm,
/// Benjamini-Hochberg), power of the paired t-test, and the area under an active-learning budget
/// curve.
///
///     sp::stats::Summary s = sp::stats::summarize(accuracy_per_seed);          // mean, CIs
///     sp::stats::PairedOptions o;  o.equivalence_margin = 0.01;
///     sp::stats::PairedTest t = sp::stats::paired_test(acc_al, acc_random, o); // same seeds
///     std::vector<double> adjusted = sp::stats::holm({t.signflip_p, u.signflip_p});
///     double mdd = sp::stats::minimum_detectable_effect(10, 0.05 / 8, 0.8) * t.sd_difference;
///
/// Conventions (tests/oracle/test_stats.cpp checks them against SciPy 1.10.1, NumPy 1.24 and
/// statsmodels 0.13, Debian 12's python3-scipy, python3-numpy and python3-statsmodels):
/// - NaN means "missing" (a replicate without this metric): summarize drops NaN values,
///   paired_test drops pairs where either value is NaN, holm and benjamini_hochberg pass NaN
///   through. Infinite values are rejected with sp::DataError.
/// - Statistics that are undefined come back as NaN, never as an exception: a standard deviation
///   of fewer than 2 values, a test on fewer than 2 pairs.
/// - Distribution functions are Boost.Math's (Student's t, non-central t, normal); SciPy uses
///   Cephes / its own Boost build, so p-values and quantiles agree to about 1e-12 relative, not
///   bit for bit.
/// - Resampling is deterministic: sp::SplitMixRng (util/rng.hpp, SplitMix64) seeded with the
///   caller's seed, so the same data and seed give the same interval and p on any platform.

#include <cstdint>
#include <limits>
#include <vector>

namespace sp::stats {

/// Descriptive statistics of one metric across seeds, with two 95% (by default) intervals for
/// the mean. Every field is NaN when n == 0; the fields marked "n >= 2" are NaN when n < 2.
struct Summary {
    std::int64_t n = 0;  ///< values used (NaN values dropped)
    double mean = 0.0;   ///< arithmetic mean
    double std = 0.0;    ///< sample standard deviation (ddof = 1); n >= 2
    double median = 0.0; ///< numpy.median: the mean of the two middle values for even n
    /// numpy.percentile(x, 25) and (x, 75), default "linear" method: the quartiles (IQR =
    /// q75 - q25), the robust summary of heavy-tailed endpoints. For n == 1 both are the value.
    double q25 = 0.0;
    double q75 = 0.0;
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

/// How paired_test computes its intervals, permutation p and equivalence test.
struct PairedOptions {
    double confidence = 0.95;                 ///< of both intervals on the mean difference
    std::int64_t bootstrap_resamples = 10000; ///< B of the BCa interval (>= 1)
    std::uint64_t seed = 0;                   ///< seeds the bootstrap and the Monte Carlo flips
    /// Up to this many pairs the sign-flip test enumerates all 2^n sign assignments (exact);
    /// above it draws `permutation_resamples` random ones. At most 30.
    std::int64_t exact_max_n = 20;
    std::int64_t permutation_resamples = 100000; ///< Monte Carlo flips above exact_max_n (>= 1)
    /// TOST margin m > 0 in the metric's raw units: equivalence means |true difference| < m.
    /// NaN: no equivalence test (tost_* fields NaN).
    double equivalence_margin = std::numeric_limits<double>::quiet_NaN();
};

/// Paired comparison of two conditions over the same seeds: a[i] and b[i] come from seed i.
/// With d = a - b over the n pairs without NaN:
struct PairedTest {
    std::int64_t n = 0;           ///< pairs used (pairs with a NaN dropped)
    double mean_difference = 0.0; ///< mean(d); NaN if n == 0
    double sd_difference = 0.0;   ///< std(d, ddof=1); NaN for n < 2
    /// Student-t interval of mean(d): scipy.stats.t.interval(confidence, n - 1, mean(d),
    /// sem(d)); n >= 2; both ends mean(d) when sd == 0.
    double t_low = 0.0;
    double t_high = 0.0;
    /// BCa bootstrap interval of mean(d), as scipy.stats.bootstrap((d,), np.mean,
    /// method="BCa", confidence_level=confidence) computes it from a set of resampled means:
    /// the B resampled means are drawn exactly as Summary's bootstrap (SplitMixRng(seed),
    /// rng.below(n), summed in draw order / n); z0 = Phi^-1(((#means < mean(d)) + (#means <=
    /// mean(d))) / (2B)); the acceleration from the jackknife means; alpha_1,2 = Phi(z0 + (z0 +
    /// z) / (1 - a (z0 + z))) for z = Phi^-1((1 -+ confidence) / 2); the ends are
    /// numpy.percentile(means, 100 alpha_1,2) ("linear", NumPy's _lerp). mean(d) here is summed
    /// in order / n like the resampled means, so a resample that reorders d ties with it
    /// exactly. The acceleration sum u^3 / (6 (sum u^2)^1.5), u = d - mean(d), is SciPy's
    /// jackknife formula in exact arithmetic, without its cancellation. n >= 2; NaN when an
    /// alpha is NaN (z0 infinite: every resampled mean on one side) and when all d are equal
    /// (no jackknife spread; SciPy gives NaN or, when rounding leaves a spread, the constant).
    double bca_low = 0.0;
    double bca_high = 0.0;
    /// scipy.stats.ttest_rel(a, b) two-sided: t = mean(d) / sqrt(var(d, ddof=1) / n), p =
    /// 2 * T_{n-1}.cdf(-|t|). NaN for n < 2. When all d are equal (variance exactly 0), SciPy's
    /// 0-division gives what we give: t = NaN, p = NaN if d == 0; t = +-inf, p = 0 otherwise.
    double t = 0.0;
    double t_p = 0.0;
    /// Two-sided sign-flip permutation test of mean(d) = 0, as
    /// scipy.stats.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type=
    /// "samples", alternative="two-sided") computes it: the null distribution is mean(s * d)
    /// over sign vectors s (all 2^n, the observed one included, when n <= exact_max_n; else
    /// `permutation_resamples` random ones from SplitMixRng(seed): each takes ceil(n / 64)
    /// draws, and bit k % 64 of draw k / 64 set negates d[k]); with gamma = max(1e-14, 1e-14
    /// |observed|), p_less = (#{null <= observed + gamma} + adj) / (N + adj), p_greater =
    /// (#{null >= observed - gamma} + adj) / (N + adj), adj = 0 exact, 1 Monte Carlo; p =
    /// min(1, 2 min(p_less, p_greater)). Exact under the null of exchangeable signs (a
    /// difference symmetric about 0), with ties and zeros. NaN for n == 0; 1 for n == 1 (the
    /// rule's value; SciPy wants 2 pairs). The exact test enumerates the 2^n sums as two halves
    /// (2^(n/2) + 2^(n - n/2) partial sums, one comparison per sign vector): a few ms at n = 20.
    double signflip_p = 0.0;
    bool signflip_exact = true; ///< all 2^n flips were enumerated
    /// Two one-sided tests of equivalence (statsmodels ttost_paired(a, b, -m, m)): p_low of
    /// H0 mean(d) <= -m, p_high of H0 mean(d) >= m (one-sided paired t), tost_p = max of the
    /// two. Equivalence is concluded when tost_p < alpha. NaN without a margin or for n < 2.
    double tost_p = 0.0;
    double tost_p_low = 0.0;
    double tost_p_high = 0.0;
    /// Cohen's d_z = mean(d) / std(d, ddof=1) (= t / sqrt(n)), the standardised paired
    /// difference; NaN for n < 2, +-inf / NaN for zero variance like t.
    double cohens_dz = 0.0;
    /// Hedges' g_z: d_z times the small-sample correction J = 1 - 3 / (4 df - 1), df = n - 1
    /// (Hedges 1981; Lakens 2013, Front. Psychol. 4:863). A paired (within-seed) effect size,
    /// NOT the between-groups g. J = 0 for n = 2.
    double hedges_gz = 0.0;
    /// Cohen's d_av = mean(d) / ((std(a) + std(b)) / 2) over the n pairs (Lakens 2013, eq. 10):
    /// the difference in units of the conditions' own spread, comparable to a between-groups d.
    /// NaN for n < 2 or when both standard deviations are 0.
    double cohens_dav = 0.0;
};

/// Paired comparison of a against b (see PairedTest). Throws sp::DataError if the sizes differ,
/// a value is infinite, or an option is out of range (confidence outside (0, 1), B < 1,
/// exact_max_n outside [0, 30], permutation_resamples < 1, margin <= 0 or infinite).
PairedTest paired_test(const std::vector<double>& a, const std::vector<double>& b,
                       const PairedOptions& options = {});

/// Holm-Bonferroni adjusted p-values, in the order given (statsmodels multipletests
/// method="holm"): with the m non-NaN p sorted ascending, p_(i) * (m - i) for i from 0, made
/// non-decreasing by a running maximum and capped at 1. NaN entries stay NaN and do not count
/// in m. Throws sp::DataError for a p-value outside [0, 1].
std::vector<double> holm(const std::vector<double>& p);

/// Benjamini-Hochberg q-values, in the order given (statsmodels multipletests
/// method="fdr_bh"): with the m non-NaN p sorted ascending, p_(i) / ((i + 1) / m), made
/// non-increasing from the largest down by a running minimum and capped at 1. NaN entries stay
/// NaN and do not count in m. Throws sp::DataError for a p-value outside [0, 1].
std::vector<double> benjamini_hochberg(const std::vector<double>& p);

/// Power of the two-sided one-sample (paired) t-test at standardised effect `effect_size`
/// (mean(d) / sd(d)) with `n` pairs at level `alpha`, as statsmodels
/// TTestPower().power(effect_size, n, alpha, alternative="two-sided"): with df = n - 1,
/// c = t_{df}.isf(alpha / 2), nc = effect_size sqrt(n): nct(df, nc).sf(c) + nct(df, nc).cdf(-c).
/// `n` may be fractional (> 1). NaN for n <= 1 or alpha outside (0, 1).
double paired_t_power(double effect_size, double n, double alpha);

/// The smallest standardised effect (> 0) the two-sided paired t-test detects with
/// probability `power` with n pairs at level alpha: the root of paired_t_power(e, n, alpha) =
/// power (statsmodels TTestPower().solve_power(nobs=n, alpha=alpha, power=power), whose brentq
/// stops at xtol 1e-5), to 1e-10 relative (TOMS 748). Multiply by sd(d) for the minimum detectable
/// difference in raw units. NaN for n < 2, alpha or power outside (0, 1), or power <= alpha.
double minimum_detectable_effect(double n, double alpha, double power);

/// The number of pairs (fractional, > 1) at which the two-sided paired t-test detects
/// standardised effect `effect_size` with probability `power` at level alpha (statsmodels
/// TTestPower().solve_power(effect_size=..., alpha=alpha, power=power)), to 1e-8 relative;
/// round it up for a number of seeds. The sign of the effect does not matter. Infinite for
/// effect 0; NaN for a NaN or infinite effect (zero spread: no sample size to solve for), alpha
/// or power outside (0, 1), or power <= alpha. Searches n in (1, 1e7]; +inf when even 1e7 pairs
/// do not reach the power.
double pairs_needed(double effect_size, double alpha, double power);

/// Normalised area under a budget curve (AUBC; Zhan et al. 2022, "A comparative survey of deep
/// active learning", arXiv 2203.13450, and the DeepAL+ toolkit): the trapezoid rule over budget
/// points x (the labelled set size or fraction, strictly increasing) of y, divided by x.back() -
/// x.front(), so it is the mean height of the curve in y's units and does not depend on how the
/// budget is scaled. NaN for fewer than 2 points or any NaN y. Throws sp::DataError if the sizes
/// differ, a value is infinite, or x is not strictly increasing (a NaN x included).
double aubc(const std::vector<double>& x, const std::vector<double>& y);

} // namespace sp::stats
