#pragma once
/// Internal helpers shared by stats.cpp, paired.cpp and power.cpp (not part of sp's API): input
/// checks, the mean and variance, NumPy's quantile rule, the seeded bootstrap of the mean that
/// Summary's percentile interval and PairedTest's BCa interval both draw, and the normal
/// distribution with SciPy's behaviour at 0, 1 and infinity.

#include <cstdint>
#include <string>
#include <vector>

namespace sp::stats::detail {

/// 17 significant digits (round-trip) for error messages.
std::string show(double v);

/// Throws sp::DataError naming `what`[i] for the first infinite value; NaN passes.
void check_finite_or_nan(const std::vector<double>& x, const char* what);

/// Throws sp::DataError unless 0 < confidence < 1.
void check_confidence(double confidence);

/// Sum of `x` added left to right (the order NumPy's cumsum uses).
double sum_in_order(const std::vector<double>& x);

/// Mean (sum left to right / n) and sample variance (ddof = 1, two-pass) of a non-empty x.
/// Exactly (x[0], 0) when all values are equal, which a rounded sum / n need not give; SciPy's
/// zero-variance results (t = +-inf) assume it. var is NaN for n == 1.
void mean_var(const std::vector<double>& x, double& mean, double& var);

/// numpy.quantile(sorted, q) with the default "linear" method on ascending, non-empty values,
/// including NumPy's _lerp, which interpolates from the upper value when the weight is >= 0.5.
double quantile_sorted(const std::vector<double>& sorted, double q);

/// numpy.percentile(sorted, percent): NumPy divides by 100 first, so q = percent / 100.
double percentile_sorted(const std::vector<double>& sorted, double percent);

/// B bootstrap means of x (n >= 1), in draw order: resample after resample, value after value,
/// index rng.below(n) of one sp::SplitMixRng(seed); each mean is its values summed in draw order,
/// divided by n.
std::vector<double> bootstrap_means(const std::vector<double>& x, std::int64_t resamples,
                                    std::uint64_t seed);

/// Standard normal cdf (scipy.special.ndtr): 0 at -inf, 1 at +inf, NaN at NaN.
double normal_cdf(double z);

/// Standard normal quantile (scipy.special.ndtri): -inf at 0, +inf at 1, NaN outside [0, 1].
double normal_quantile(double p);

} // namespace sp::stats::detail
