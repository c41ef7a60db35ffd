// stats/ against SciPy 1.10, NumPy 1.24 and statsmodels 0.13 (tests/oracle/stats_oracle.py, run
// once with Debian's /usr/bin/python3 for all cases): 240 generated paired comparisons, 240
// summaries, 240 p-value families, 200 power values, 200 + 200 power inversions and 200 budget
// curves, written to one file; the oracle recomputes each (see its docstring for which library
// gives which value). Tolerances, per quantity:
// - 1e-10 (relative above 1, absolute below) for closed forms: means, sd, t, effect sizes,
//   quartiles, the t interval against a Newton-refined t.ppf, TOST and t-test p-values
//   (relative, + 1e-15 absolute), AUBC; 1e-15 for Holm and Benjamini-Hochberg; the sign-flip p
//   exactly (1e-15; a ratio of integers), the bootstrap and BCa on the same resamples to 1e-10.
// - SciPy's own t.interval to 1e-8: its Cephes t.ppf is off by up to ~5e-9 relative.
// - The Monte Carlo sign-flip p against the exact p within 5 standard errors
//   (2 sqrt(q (1 - q) / N) with q = min(1/2, p_exact / 2)) plus the (count + 1) / (N + 1)
//   offset 2 / (N + 1); and bit for bit against the oracle's replay of sp's documented draws.
// - sp's BCa against scipy.stats.bootstrap(method="BCa") with SciPy's own resamples within
//   5 standard errors, the standard error of one end taken as k s sqrt(1 / B_sp + 1 / B_scipy)
//   with s the bootstrap distribution's sd and k = 3.28, 3.66, 5.48 at confidence 0.9, 0.95,
//   0.99 (the end's quantile error and z0's, for a near-normal bootstrap distribution).
// - Power against statsmodels to 1e-8 absolute (statsmodels' critical value comes from Cephes'
//   t.isf, good to ~5e-9 relative) and to 1e-11 against the same formula with a Newton-refined
//   critical value; the roots against solve_power to its brentq tolerance (xtol 1e-5 absolute,
//   plus 1e-6 relative), and statsmodels' power at sp's root equals the target to 1e-8 (1e-10
//   with the refined critical value).
//
// The generated data carry the hard cases on purpose: dyadic values (multiples of 0.25 and
// 0.125, whose sums are exact, so ties in the permutation null are exact in SciPy and in sp),
// zero differences, NaN pairs, all-equal pairs, constant nonzero differences (exact and
// decimal), n from 3 to 30 with n > exact_max_n (Monte Carlo), lowered exact_max_n, and n = 0,
// 1, 2. Hand-computed cases and the error cases come first.
#include "sp/stats/stats.hpp"
#include "sp/util/error.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using sp::test::TempDir;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string python() {
    const char* env = std::getenv("SP_PYTHON");
    return env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
}

/// got == want within tol * max(1, |want|) (absolute near 0, relative above 1); NaN == NaN and
/// inf == inf of the same sign. Beyond 1e12 only the sign counts: such a t or d_z divides by a
/// rounding-level variance (a "constant" difference like (b + 0.1) - b), whose value depends on
/// the summation order, and may be exactly 0 (inf) in sp.
::testing::AssertionResult near(double got, double want, double tol) {
    if (std::isnan(want) && std::isnan(got)) return ::testing::AssertionSuccess();
    if (std::fabs(want) > 1e12 && std::fabs(got) > 1e12 && (got > 0) == (want > 0)) {
        return ::testing::AssertionSuccess();
    }
    if (std::fabs(got - want) <= tol * std::max(1.0, std::fabs(want))) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "sp " << got << " want " << want;
}

/// A p-value: relative tol, plus 1e-15 absolute (Boost and Cephes differ far out in the tail).
::testing::AssertionResult near_p(double got, double want, double tol) {
    if (std::isnan(want) && std::isnan(got)) return ::testing::AssertionSuccess();
    if (std::fabs(got - want) <= tol * std::fabs(want) + 1e-15) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "sp " << got << " want " << want;
}

/// Largest deviations seen per quantity, printed at the end of the oracle test.
std::map<std::string, double>& deviations() {
    static std::map<std::string, double> d;
    return d;
}
void record(const std::string& what, double got, double want) {
    if (std::isnan(got) || std::isnan(want) || std::isinf(got) || std::isinf(want)) return;
    double& m = deviations()[what];
    m = std::max(m, std::fabs(got - want));
}

// ---- Hand-computed cases ------------------------------------------------------------------

// summarize: {1, 2, 3, 4}: mean 2.5, std sqrt(5/3), t.ppf(0.975, 3) = 3.18244630528371;
// quartiles at h = 3 * 0.25 = 0.75 and 2.25: 1.75 and 3.25.
TEST(StatsSummary, HandComputed) {
    const sp::stats::Summary s = sp::stats::summarize({4.0, 1.0, kNaN, 3.0, 2.0});
    EXPECT_EQ(s.n, 4);
    EXPECT_DOUBLE_EQ(s.mean, 2.5);
    EXPECT_DOUBLE_EQ(s.std, std::sqrt(5.0 / 3.0));
    EXPECT_DOUBLE_EQ(s.median, 2.5);
    EXPECT_EQ(s.q25, 1.75);
    EXPECT_EQ(s.q75, 3.25);
    EXPECT_EQ(s.min, 1.0);
    EXPECT_EQ(s.max, 4.0);
    // t.ppf(0.975, 3) to 17 digits (mpmath; SciPy 1.10 gives 3.182446305284263, 1.7e-13 off).
    const double half = 3.1824463052837096 * std::sqrt(5.0 / 3.0) / 2.0;
    EXPECT_NEAR(s.t_low, 2.5 - half, 1e-15);
    EXPECT_NEAR(s.t_high, 2.5 + half, 1e-15);
    // Resample means lie on the grid k / 4 within [1, 4].
    EXPECT_GE(s.boot_low, 1.0);
    EXPECT_LE(s.boot_high, 4.0);
    EXPECT_LT(s.boot_low, s.mean);
    EXPECT_GT(s.boot_high, s.mean);
}

// n = 0: all NaN; n = 1: the value, spread and intervals NaN; constant data: a point interval.
TEST(StatsSummary, DegenerateSizes) {
    const auto s0 = sp::stats::summarize({kNaN, kNaN});
    EXPECT_EQ(s0.n, 0);
    EXPECT_TRUE(std::isnan(s0.mean) && std::isnan(s0.median) && std::isnan(s0.boot_low));
    EXPECT_TRUE(std::isnan(s0.q25) && std::isnan(s0.q75));
    const auto s1 = sp::stats::summarize({0.7});
    EXPECT_EQ(s1.n, 1);
    EXPECT_EQ(s1.mean, 0.7);
    EXPECT_EQ(s1.median, 0.7);
    EXPECT_EQ(s1.q25, 0.7);
    EXPECT_EQ(s1.q75, 0.7);
    EXPECT_TRUE(std::isnan(s1.std) && std::isnan(s1.t_low) && std::isnan(s1.boot_high));
    const auto sc = sp::stats::summarize({0.1, 0.1, 0.1});
    EXPECT_EQ(sc.mean, 0.1);
    EXPECT_EQ(sc.std, 0.0);
    EXPECT_EQ(sc.t_low, 0.1);
    EXPECT_EQ(sc.t_high, 0.1);
    // Every resample mean is (0.1 + 0.1 + 0.1) / 3, one rounding away from 0.1.
    EXPECT_DOUBLE_EQ(sc.boot_low, 0.1);
    EXPECT_EQ(sc.boot_high, sc.boot_low);
}

// The bootstrap depends on the seed only: same seed, same interval; another seed, another.
TEST(StatsSummary, BootstrapIsSeeded) {
    const std::vector<double> x{0.61, 0.64, 0.59, 0.66, 0.63, 0.60, 0.65};
    const auto a = sp::stats::summarize(x, 0.95, 2000, 7);
    const auto b = sp::stats::summarize(x, 0.95, 2000, 7);
    const auto c = sp::stats::summarize(x, 0.95, 2000, 8);
    EXPECT_EQ(a.boot_low, b.boot_low);
    EXPECT_EQ(a.boot_high, b.boot_high);
    EXPECT_TRUE(a.boot_low != c.boot_low || a.boot_high != c.boot_high);
}

// d = 1..5: t = 3 / sqrt(2.5 / 5); the observed mean is the largest of the 32 sign flips, so
// p = 2 / 32; TOST with m = 1 (statsmodels): p_low = t4.sf(4 / sqrt(0.5)), p_high =
// t4.cdf(2 / sqrt(0.5)); d_z = 3 / sqrt(2.5), J = 1 - 3 / (4 * 4 - 1) = 0.8; d_av = 3 /
// ((sqrt(2.5) + 0) / 2).
TEST(StatsPaired, HandComputed) {
    sp::stats::PairedOptions o;
    o.equivalence_margin = 1.0;
    const auto r = sp::stats::paired_test({1, 2, 3, 4, 5, kNaN}, {0, 0, 0, 0, 0, 1}, o);
    EXPECT_EQ(r.n, 5);
    EXPECT_DOUBLE_EQ(r.mean_difference, 3.0);
    EXPECT_DOUBLE_EQ(r.sd_difference, std::sqrt(2.5));
    EXPECT_DOUBLE_EQ(r.t, 3.0 / std::sqrt(0.5));
    EXPECT_NEAR(r.t_p, 0.013235599563682695, 1e-15); // scipy.stats.ttest_rel
    EXPECT_EQ(r.signflip_p, 0.0625);
    EXPECT_TRUE(r.signflip_exact);
    EXPECT_NEAR(r.tost_p_low, 0.0024063391650221136, 1e-15);
    EXPECT_NEAR(r.tost_p_high, 0.9762896722078401, 1e-14);
    EXPECT_EQ(r.tost_p, r.tost_p_high);
    EXPECT_DOUBLE_EQ(r.cohens_dz, 3.0 / std::sqrt(2.5));
    EXPECT_DOUBLE_EQ(r.hedges_gz, 0.8 * 3.0 / std::sqrt(2.5));
    EXPECT_DOUBLE_EQ(r.cohens_dav, 6.0 / std::sqrt(2.5));
    EXPECT_LT(r.bca_low, 3.0);
    EXPECT_GT(r.bca_high, 3.0);
    EXPECT_GE(r.bca_low, 1.0);
    EXPECT_LE(r.bca_high, 5.0);
}

// Ties and zeros in the sign-flip null: d = {1, -1, 2, 3}: the signed sums >= 5 are 7, 5, 5 of
// 16, p = 2 * 3/16 (scipy.stats.permutation_test: 0.375). d = {0.5, 0.5, 0.5}: only the
// identity reaches the observed 0.5, p = 2/8. A zero difference doubles every count.
TEST(StatsPaired, SignFlipTiesAndZeros) {
    EXPECT_EQ(sp::stats::paired_test({1, -1, 2, 3}, {0, 0, 0, 0}).signflip_p, 0.375);
    EXPECT_EQ(sp::stats::paired_test({0.5, 0.5, 0.5}, {0, 0, 0}).signflip_p, 0.25);
    EXPECT_EQ(sp::stats::paired_test({1, -1, 2, 3, 7}, {0, 0, 0, 0, 7}).signflip_p, 0.375);
}

// All-zero differences: p = 1 (every flip ties), the t-test NaN (SciPy: 0/0). A constant
// nonzero difference: t = inf, p = 0, BCa NaN (no jackknife spread). n = 2: J = 0. One pair:
// the mean and the sign-flip p (the observed value and its negation: p = 1). No pair: NaN.
TEST(StatsPaired, Degenerate) {
    sp::stats::PairedOptions o;
    o.equivalence_margin = 0.25;
    const auto z = sp::stats::paired_test({1, 2, 3}, {1, 2, 3}, o);
    EXPECT_EQ(z.mean_difference, 0.0);
    EXPECT_EQ(z.sd_difference, 0.0);
    EXPECT_EQ(z.signflip_p, 1.0);
    EXPECT_TRUE(std::isnan(z.t) && std::isnan(z.t_p) && std::isnan(z.bca_low));
    EXPECT_TRUE(std::isnan(z.cohens_dz) && std::isnan(z.hedges_gz));
    EXPECT_EQ(z.t_low, 0.0);
    EXPECT_EQ(z.t_high, 0.0);
    EXPECT_EQ(z.tost_p, 0.0); // |d| = 0 < m with zero spread: both one-sided t are infinite
    const auto c2 = sp::stats::paired_test({1.5, 2.5, 3.5}, {1.0, 2.0, 3.0}, o);
    EXPECT_EQ(c2.t, kInf);
    EXPECT_EQ(c2.t_p, 0.0);
    EXPECT_EQ(c2.cohens_dz, kInf);
    EXPECT_EQ(c2.signflip_p, 0.25);
    EXPECT_TRUE(std::isnan(c2.bca_low) && std::isnan(c2.bca_high));
    EXPECT_EQ(c2.tost_p_high, 1.0); // 0.5 >= m = 0.25 without spread
    const auto two = sp::stats::paired_test({1.0, 3.0}, {0.0, 0.0});
    EXPECT_EQ(two.hedges_gz, 0.0);
    EXPECT_EQ(two.signflip_p, 0.5);
    EXPECT_TRUE(std::isnan(two.tost_p)); // no margin
    const auto one = sp::stats::paired_test({2.0}, {1.0});
    EXPECT_EQ(one.n, 1);
    EXPECT_EQ(one.mean_difference, 1.0);
    EXPECT_EQ(one.signflip_p, 1.0);
    EXPECT_TRUE(std::isnan(one.t) && std::isnan(one.cohens_dz) && std::isnan(one.sd_difference));
    EXPECT_TRUE(std::isnan(one.bca_low) && std::isnan(one.t_low) && std::isnan(one.cohens_dav));
    const auto none = sp::stats::paired_test({kNaN}, {1.0});
    EXPECT_EQ(none.n, 0);
    EXPECT_TRUE(std::isnan(none.mean_difference) && std::isnan(none.signflip_p));
}

// Monte Carlo above exact_max_n: deterministic in the seed, flagged, and near the exact p.
TEST(StatsPaired, MonteCarloIsSeeded) {
    std::vector<double> a;
    std::vector<double> b;
    for (int k = 0; k < 12; ++k) {
        a.push_back(0.5 + 0.1 * std::sin(k) + 0.03);
        b.push_back(0.5 + 0.1 * std::cos(3.0 * k));
    }
    sp::stats::PairedOptions o;
    const auto exact = sp::stats::paired_test(a, b, o);
    EXPECT_TRUE(exact.signflip_exact);
    o.exact_max_n = 11;
    o.permutation_resamples = 50000;
    o.seed = 3;
    const auto m1 = sp::stats::paired_test(a, b, o);
    const auto m2 = sp::stats::paired_test(a, b, o);
    o.seed = 4;
    const auto m3 = sp::stats::paired_test(a, b, o);
    EXPECT_FALSE(m1.signflip_exact);
    EXPECT_EQ(m1.signflip_p, m2.signflip_p);
    EXPECT_NE(m1.signflip_p, m3.signflip_p);
    const double q = std::min(0.5, exact.signflip_p / 2.0);
    EXPECT_NEAR(m1.signflip_p, exact.signflip_p, 10.0 * std::sqrt(q * (1 - q) / 50000.0));
}

// The reduction calls paired_test for ~40 metrics x several comparisons: 2^20 exact flips plus a
// 10000-resample BCa must take well under a second.
TEST(StatsPaired, ExactTwentyPairsIsFast) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> a(20);
    std::vector<double> b(20);
    for (std::size_t k = 0; k < a.size(); ++k) {
        b[k] = 0.7 + 0.02 * normal(rng);
        a[k] = b[k] + 0.01 + 0.02 * normal(rng);
    }
    const auto start = std::chrono::steady_clock::now();
    const auto r = sp::stats::paired_test(a, b);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_TRUE(r.signflip_exact);
    EXPECT_GT(r.signflip_p, 0.0);
    EXPECT_LT(seconds, 0.5);
    std::cout << "paired_test n = 20 (exact, B = 10000): " << seconds * 1e3 << " ms\n";
}

// m = 4 non-NaN: 0.01 * 4, 0.03 * 3, max(0.04 * 2, 0.09), 0.5 * 1; NaN stays; capped at 1.
TEST(StatsHolm, HandComputed) {
    const auto h = sp::stats::holm({0.01, 0.04, 0.03, kNaN, 0.5});
    ASSERT_EQ(h.size(), 5U);
    EXPECT_DOUBLE_EQ(h[0], 0.04);
    EXPECT_DOUBLE_EQ(h[1], 0.09);
    EXPECT_DOUBLE_EQ(h[2], 0.09);
    EXPECT_TRUE(std::isnan(h[3]));
    EXPECT_DOUBLE_EQ(h[4], 0.5);
    const auto capped = sp::stats::holm({0.4, 0.6});
    EXPECT_DOUBLE_EQ(capped[0], 0.8);
    EXPECT_DOUBLE_EQ(capped[1], 0.8);
    EXPECT_TRUE(sp::stats::holm({}).empty());
    for (const double v : sp::stats::holm({0.3, 0.3, 0.3})) EXPECT_EQ(v, 0.3 * 3.0);
}

// m = 4: sorted 0.01, 0.03, 0.04, 0.5 times 4/1, 4/2, 4/3, 4/4 = 0.04, 0.06, 0.0533, 0.5; the
// running minimum from the top gives 0.04, 0.0533, 0.0533, 0.5.
TEST(StatsBenjaminiHochberg, HandComputed) {
    const auto q = sp::stats::benjamini_hochberg({0.01, 0.04, 0.03, kNaN, 0.5});
    ASSERT_EQ(q.size(), 5U);
    EXPECT_DOUBLE_EQ(q[0], 0.04);
    EXPECT_DOUBLE_EQ(q[1], 0.04 * 4.0 / 3.0);
    EXPECT_DOUBLE_EQ(q[2], 0.04 * 4.0 / 3.0);
    EXPECT_TRUE(std::isnan(q[3]));
    EXPECT_DOUBLE_EQ(q[4], 0.5);
    EXPECT_TRUE(sp::stats::benjamini_hochberg({}).empty());
    for (const double v : sp::stats::benjamini_hochberg({0.3, 0.3, 0.3})) EXPECT_EQ(v, 0.3);
    EXPECT_EQ(sp::stats::benjamini_hochberg({1.0, 0.9})[0], 1.0);
}

// Power at effect 0 is the level. statsmodels' formula with an exact critical value (SciPy's
// Boost nct; t.isf refined by Newton steps): power(0.5, 10, 0.05) = 0.29317560651407687
// (statsmodels itself: 0.2931756065300414, Cephes' t.isf); its roots by brentq at xtol 1e-15:
// effect 0.9960013714554438 (n = 10, power 0.8) and 33.367128953330855 pairs (effect 0.5)
// (solve_power, at its xtol 1e-5: 0.99600191 and 33.367131).
TEST(StatsPower, HandComputedAndEdges) {
    EXPECT_NEAR(sp::stats::paired_t_power(0.0, 10, 0.05), 0.05, 1e-15);
    EXPECT_NEAR(sp::stats::paired_t_power(0.5, 10, 0.05), 0.29317560651407687, 1e-14);
    EXPECT_EQ(sp::stats::paired_t_power(-0.5, 10, 0.05), sp::stats::paired_t_power(0.5, 10, 0.05));
    EXPECT_NEAR(sp::stats::minimum_detectable_effect(10, 0.05, 0.8), 0.9960013714554438, 1e-12);
    EXPECT_NEAR(sp::stats::pairs_needed(0.5, 0.05, 0.8), 33.367128953330855, 1e-10);
    EXPECT_EQ(sp::stats::pairs_needed(-0.5, 0.05, 0.8), sp::stats::pairs_needed(0.5, 0.05, 0.8));
    EXPECT_TRUE(std::isnan(sp::stats::paired_t_power(0.5, 1.0, 0.05)));
    EXPECT_TRUE(std::isnan(sp::stats::paired_t_power(0.5, 10, 1.0)));
    EXPECT_TRUE(std::isnan(sp::stats::paired_t_power(kNaN, 10, 0.05)));
    EXPECT_TRUE(std::isnan(sp::stats::minimum_detectable_effect(1.5, 0.05, 0.8)));
    EXPECT_TRUE(std::isnan(sp::stats::minimum_detectable_effect(10, 0.05, 0.05)));
    EXPECT_TRUE(std::isnan(sp::stats::minimum_detectable_effect(10, 0.0, 0.8)));
    EXPECT_EQ(sp::stats::pairs_needed(0.0, 0.05, 0.8), kInf);
    EXPECT_EQ(sp::stats::pairs_needed(1e-5, 0.05, 0.99), kInf); // ~1.8e11 pairs
    EXPECT_TRUE(std::isnan(sp::stats::pairs_needed(kNaN, 0.05, 0.8)));
    EXPECT_TRUE(std::isnan(sp::stats::pairs_needed(0.5, 0.05, 1.0)));
    // A huge effect: fewer than 2 pairs reach the power; the root still solves the equation.
    const double few = sp::stats::pairs_needed(50.0, 0.05, 0.8);
    EXPECT_GT(few, 1.0);
    EXPECT_LT(few, 2.0);
    EXPECT_NEAR(sp::stats::paired_t_power(50.0, few, 0.05), 0.8, 1e-9);
}

// x = {0, 1, 3}, y = {0, 1, 1}: trapezoids 0.5 and 2, over a budget range of 3.
TEST(StatsAubc, HandComputedAndErrors) {
    EXPECT_DOUBLE_EQ(sp::stats::aubc({0, 1, 3}, {0, 1, 1}), 2.5 / 3.0);
    EXPECT_DOUBLE_EQ(sp::stats::aubc({100, 200, 400}, {0, 1, 1}), 2.5 / 3.0); // scale-free
    EXPECT_TRUE(std::isnan(sp::stats::aubc({0, 1, 3}, {0, kNaN, 1})));
    EXPECT_TRUE(std::isnan(sp::stats::aubc({1}, {0.5})));
    EXPECT_TRUE(std::isnan(sp::stats::aubc({}, {})));
    EXPECT_THROW(sp::stats::aubc({0, 1}, {0.5}), sp::DataError);
    EXPECT_THROW(sp::stats::aubc({0, 1, 1}, {0, 1, 2}), sp::DataError);
    EXPECT_THROW(sp::stats::aubc({0, 2, 1}, {0, 1, 2}), sp::DataError);
    EXPECT_THROW(sp::stats::aubc({0, kNaN}, {0, 1}), sp::DataError);
    EXPECT_THROW(sp::stats::aubc({0, 1}, {0, kInf}), sp::DataError);
}

TEST(StatsErrors, BadInputThrowsDataError) {
    EXPECT_THROW(sp::stats::paired_test({1, 2}, {1}), sp::DataError);
    EXPECT_THROW(sp::stats::paired_test({1, kInf}, {1, 2}), sp::DataError);
    EXPECT_THROW(sp::stats::summarize({1, -kInf}), sp::DataError);
    EXPECT_THROW(sp::stats::summarize({1, 2}, 1.0), sp::DataError);
    EXPECT_THROW(sp::stats::summarize({1, 2}, 0.95, 0), sp::DataError);
    EXPECT_THROW(sp::stats::holm({0.5, 1.5}), sp::DataError);
    EXPECT_THROW(sp::stats::holm({-0.1}), sp::DataError);
    EXPECT_THROW(sp::stats::benjamini_hochberg({0.5, 1.5}), sp::DataError);
    try {
        sp::stats::holm({0.5, 1.5});
    } catch (const sp::DataError& e) {
        EXPECT_NE(std::string(e.what()).find("p[1]"), std::string::npos) << e.what();
    }
    const std::vector<double> x{1, 2, 3};
    auto bad = [&](auto change) {
        sp::stats::PairedOptions o;
        change(o);
        return [=] { sp::stats::paired_test(x, x, o); };
    };
    EXPECT_THROW(bad([](auto& o) { o.confidence = 0.0; })(), sp::DataError);
    EXPECT_THROW(bad([](auto& o) { o.bootstrap_resamples = 0; })(), sp::DataError);
    EXPECT_THROW(bad([](auto& o) { o.exact_max_n = 31; })(), sp::DataError);
    EXPECT_THROW(bad([](auto& o) { o.exact_max_n = -1; })(), sp::DataError);
    EXPECT_THROW(bad([](auto& o) { o.permutation_resamples = 0; })(), sp::DataError);
    EXPECT_THROW(bad([](auto& o) { o.equivalence_margin = 0.0; })(), sp::DataError);
    EXPECT_THROW(bad([](auto& o) { o.equivalence_margin = kInf; })(), sp::DataError);
    EXPECT_NO_THROW(bad([](auto& o) { o.exact_max_n = 0; })());
}

// ---- Against SciPy / statsmodels -----------------------------------------------------------

struct PairedCase {
    std::vector<double> a, b;
    sp::stats::PairedOptions o;
    int public_b = 0;           ///< resamples of scipy.stats.bootstrap's own BCa (0: none)
    bool near_constant = false; ///< d constant up to rounding: BCa is rounding noise
};

void round_to(std::vector<double>& v, double step) {
    for (double& x : v) x = std::round(x / step) * step;
}

/// Case i of the generated set, the hard cases of the file comment by i % 10.
PairedCase make_case(int i, std::mt19937_64& rng) {
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    auto size = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const int kind = i % 10;
    int n = size(3, 20);
    if (kind == 4) n = size(3, 24);
    if (kind == 7) n = size(21, 30);
    if (kind == 8) n = size(6, 16);
    if (kind == 9) n = size(3, 30);
    if (i == 0) n = 0;
    if (i == 10) n = 1;
    if (i == 20) n = 2;
    PairedCase c;
    const double confidence[] = {0.95, 0.9, 0.99};
    const std::int64_t resamples[] = {10000, 1, 2, 999, 2000};
    const double margins[] = {kNaN, 0.01, 0.1, 0.5};
    c.o.confidence = confidence[i % 3];
    c.o.bootstrap_resamples = resamples[i % 5];
    c.o.seed = static_cast<std::uint64_t>(i) + (i % 2 == 1 ? (std::uint64_t{1} << 63) : 0);
    c.o.equivalence_margin = margins[(i / 10) % 4];
    const double shift = 0.3 * normal(rng);
    const double scale = unit(rng) < 0.5 ? 1.0 : 0.05;
    for (int k = 0; k < n; ++k) {
        const double base = 0.5 + scale * normal(rng);
        c.b.push_back(base);
        c.a.push_back(base + scale * (shift + normal(rng)));
    }
    switch (kind) {
    case 1: // dyadic ties and zeros
        round_to(c.a, 0.25);
        round_to(c.b, 0.25);
        break;
    case 2: // dyadic with injected zeros
        round_to(c.a, 0.125);
        round_to(c.b, 0.125);
        for (std::size_t k = 0; k < c.a.size(); k += 3) c.a[k] = c.b[k];
        break;
    case 3: // continuous with injected zeros
        for (std::size_t k = 0; k < c.a.size(); k += 4) c.a[k] = c.b[k];
        break;
    case 4: // NaN pairs
        for (std::size_t k = 1; k < c.a.size(); k += 5) (k % 2 == 0 ? c.a : c.b)[k] = kNaN;
        break;
    case 5: // all differences zero, or constant: dyadic (exact zero variance) or decimal
        c.a = c.b;
        if (i % 20 == 15) {
            round_to(c.b, 0.125);
            for (std::size_t k = 0; k < c.a.size(); ++k) c.a[k] = c.b[k] + 0.5;
        }
        if (i % 40 == 35) {
            for (std::size_t k = 0; k < c.a.size(); ++k) c.a[k] = c.b[k] + 0.1;
            c.near_constant = true;
        }
        break;
    case 6: // one nonzero difference among zeros
        c.a = c.b;
        if (!c.a.empty()) c.a[0] += 0.25;
        break;
    case 7: // Monte Carlo above the default exact_max_n, half of them dyadic
        if (i % 20 == 7) {
            round_to(c.a, 0.25);
            round_to(c.b, 0.25);
        }
        c.o.permutation_resamples = i % 40 == 7 ? 100000 : 20000;
        break;
    case 8: // Monte Carlo below 20 pairs: exact_max_n lowered
        if (i % 20 == 8) {
            round_to(c.a, 0.125);
            round_to(c.b, 0.125);
        }
        c.o.exact_max_n = n - 1 - i % 3;
        c.o.permutation_resamples = 20000;
        break;
    case 9: // continuous; SciPy's public BCa with its own resamples from 10 pairs on
        if (n >= 10) {
            c.o.bootstrap_resamples = 20000;
            c.public_b = 100000;
        }
        break;
    default: // continuous; from 10 pairs also against SciPy's public BCa, as kind 9
        if (n >= 10) {
            c.o.bootstrap_resamples = 20000;
            c.public_b = 100000;
        }
        break;
    }
    return c;
}

std::string fmt(double v) {
    if (std::isnan(v)) return "nan";
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
}

void write_values(std::ostream& out, const std::vector<double>& v) {
    for (const double x : v) out << ' ' << fmt(x);
}

using OracleValues = std::map<std::string, std::vector<double>>; // "ID:name" -> values

OracleValues run_oracle(const std::string& cases) {
    const auto r =
        sp::test::run({python(), sp::test::source_path("tests/oracle/stats_oracle.py"), cases});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    OracleValues out;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string key;
        words >> key;
        std::vector<double> values;
        std::string w;
        while (words >> w) values.push_back(std::strtod(w.c_str(), nullptr));
        out[key] = values;
    }
    return out;
}

const std::vector<double>& field(const OracleValues& o, const std::string& key, std::size_t n) {
    static const std::vector<double> empty;
    const auto it = o.find(key);
    if (it == o.end() || it->second.size() != n) {
        ADD_FAILURE() << "oracle printed no " << key << " of " << n << " values";
        return empty;
    }
    return it->second;
}

/// Inputs of the power cases, drawn once.
struct PowerCase {
    double effect, n, alpha, power;
};

PowerCase make_power_case(int i, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const double alphas[] = {0.05, 0.01, 0.1, 0.05 / 8, 0.001};
    const double powers[] = {0.8, 0.9, 0.5, 0.95, 0.99};
    PowerCase c{};
    c.alpha = alphas[i % 5];
    c.power = powers[(i / 5) % 5];
    c.effect = i % 17 == 0 ? 0.0 : (i % 2 == 0 ? 1.0 : -1.0) * 3.0 * unit(rng) * unit(rng);
    c.n = i % 3 == 0 ? 2.0 + std::floor(58.0 * unit(rng)) : 1.05 + 60.0 * unit(rng);
    return c;
}

void check_summary(const OracleValues& o, const std::string& id, const sp::stats::Summary& s) {
    const auto& sn = field(o, id + ":n", 1);
    if (!sn.empty()) {
        EXPECT_EQ(static_cast<double>(s.n), sn[0]);
    }
    const auto& sv = field(o, id + ":stats", 11);
    if (sv.size() == 11) {
        constexpr double kTol = 1e-10;
        EXPECT_TRUE(near(s.mean, sv[0], kTol)) << "mean";
        EXPECT_TRUE(near(s.std, sv[1], kTol)) << "std";
        EXPECT_TRUE(near(s.median, sv[2], kTol)) << "median";
        EXPECT_TRUE(near(s.q25, sv[3], kTol)) << "q25";
        EXPECT_TRUE(near(s.q75, sv[4], kTol)) << "q75";
        EXPECT_TRUE(near(s.min, sv[5], 0.0)) << "min";
        EXPECT_TRUE(near(s.max, sv[6], 0.0)) << "max";
        EXPECT_TRUE(near(s.t_low, sv[7], kTol)) << "t_low";
        EXPECT_TRUE(near(s.t_high, sv[8], kTol)) << "t_high";
        EXPECT_TRUE(near(s.boot_low, sv[9], 1e-12)) << "boot_low";
        EXPECT_TRUE(near(s.boot_high, sv[10], 1e-12)) << "boot_high";
        record("summary mean/std/median", s.mean, sv[0]);
        record("summary mean/std/median", s.std, sv[1]);
        record("summary mean/std/median", s.median, sv[2]);
        record("summary q25/q75", s.q25, sv[3]);
        record("summary q25/q75", s.q75, sv[4]);
        record("summary t interval (refined ppf)", s.t_low, sv[7]);
        record("summary t interval (refined ppf)", s.t_high, sv[8]);
        record("summary bootstrap", s.boot_low, sv[9]);
        record("summary bootstrap", s.boot_high, sv[10]);
    }
    // SciPy's own t.interval: its Cephes t.ppf is good to ~5e-9 relative only.
    const auto& si = field(o, id + ":scipy_interval", 2);
    if (si.size() == 2) {
        EXPECT_TRUE(near(s.t_low, si[0], 1e-8)) << "scipy t_low";
        EXPECT_TRUE(near(s.t_high, si[1], 1e-8)) << "scipy t_high";
        record("summary t interval (scipy t.interval)", s.t_low, si[0]);
        record("summary t interval (scipy t.interval)", s.t_high, si[1]);
    }
}

struct PairedCounts {
    int scipy_exact = 0, enum_exact = 0, monte_carlo = 0, dyadic_ties = 0, bca = 0;
    int public_bca = 0, tost = 0;
};

void check_paired(const OracleValues& o, const std::string& id, const PairedCase& c,
                  const sp::stats::PairedTest& r, PairedCounts& count) {
    const auto& pn = field(o, id + ":n", 1);
    if (!pn.empty()) {
        EXPECT_EQ(static_cast<double>(r.n), pn[0]);
    }
    const auto& sf = field(o, id + ":signflip", 3);
    if (sf.size() == 3) {
        if (r.signflip_exact) {
            // A ratio of integers over 2^n: equal up to the last bit.
            EXPECT_TRUE(near_p(r.signflip_p, sf[1], 0.0)) << "signflip_p vs enumeration";
            record("signflip exact vs NumPy enumeration", r.signflip_p, sf[1]);
            if (!std::isnan(sf[0])) {
                EXPECT_TRUE(near_p(r.signflip_p, sf[0], 0.0)) << "signflip_p vs scipy";
                record("signflip exact vs scipy permutation_test", r.signflip_p, sf[0]);
                ++count.scipy_exact;
            }
            if (!std::isnan(sf[1])) ++count.enum_exact;
            EXPECT_TRUE(std::isnan(sf[2]));
        } else {
            ++count.monte_carlo;
            EXPECT_GT(r.n, c.o.exact_max_n);
            // Bit for bit against the replay of the documented draws.
            EXPECT_TRUE(near_p(r.signflip_p, sf[2], 0.0)) << "signflip_p vs Monte Carlo replay";
            record("signflip Monte Carlo vs replay", r.signflip_p, sf[2]);
            const double exact = std::isnan(sf[0]) ? sf[1] : sf[0];
            const auto big_n = static_cast<double>(c.o.permutation_resamples);
            const double q = std::min(0.5, exact / 2.0);
            const double se = 2.0 * std::sqrt(q * (1.0 - q) / big_n);
            const double bound = 5.0 * se + 2.0 / (big_n + 1.0);
            EXPECT_LE(std::fabs(r.signflip_p - exact), bound)
                << "Monte Carlo p " << r.signflip_p << " exact " << exact;
            double& worst = deviations()["signflip Monte Carlo vs exact (in SE)"];
            worst = std::max(worst, std::fabs(r.signflip_p - exact) / std::max(se, 1e-300));
            // Deterministic: the same options give the same p.
            EXPECT_EQ(sp::stats::paired_test(c.a, c.b, c.o).signflip_p, r.signflip_p);
        }
    }
    const auto& pv = field(o, id + ":basic", 9);
    if (pv.size() == 9) {
        constexpr double kTol = 1e-10;
        EXPECT_TRUE(near(r.mean_difference, pv[0], kTol)) << "mean_difference";
        EXPECT_TRUE(near(r.sd_difference, pv[1], kTol)) << "sd_difference";
        EXPECT_TRUE(near(r.t_low, pv[2], kTol)) << "t_low";
        EXPECT_TRUE(near(r.t_high, pv[3], kTol)) << "t_high";
        EXPECT_TRUE(near(r.t, pv[4], kTol)) << "t";
        EXPECT_TRUE(near_p(r.t_p, pv[5], kTol)) << "t_p";
        EXPECT_TRUE(near(r.cohens_dz, pv[6], kTol)) << "cohens_dz";
        EXPECT_TRUE(near(r.hedges_gz, pv[7], kTol)) << "hedges_gz";
        EXPECT_TRUE(near(r.cohens_dav, pv[8], kTol)) << "cohens_dav";
        record("paired mean/sd/t/effect sizes", r.mean_difference, pv[0]);
        record("paired mean/sd/t/effect sizes", r.sd_difference, pv[1]);
        record("paired t interval (refined ppf)", r.t_low, pv[2]);
        record("paired t interval (refined ppf)", r.t_high, pv[3]);
        if (std::fabs(pv[4]) < 1e12) record("paired mean/sd/t/effect sizes", r.t, pv[4]);
        record("paired t-test p (ttest_rel)", r.t_p, pv[5]);
        if (std::fabs(pv[6]) < 1e12) {
            record("paired mean/sd/t/effect sizes", r.cohens_dz, pv[6]);
            record("paired mean/sd/t/effect sizes", r.hedges_gz, pv[7]);
        }
        record("paired mean/sd/t/effect sizes", r.cohens_dav, pv[8]);
    }
    if (r.n == 0) return;
    const auto& si = field(o, id + ":scipy_interval", 2);
    if (si.size() == 2) {
        EXPECT_TRUE(near(r.t_low, si[0], 1e-8)) << "scipy t_low";
        EXPECT_TRUE(near(r.t_high, si[1], 1e-8)) << "scipy t_high";
    }
    const auto& bca = field(o, id + ":bca", 2);
    if (bca.size() == 2) {
        if (c.near_constant) {
            // d is constant up to rounding: z0 and the acceleration are rounding noise in both
            // implementations. Only the range is checked.
            for (const double v : {r.bca_low, r.bca_high}) {
                EXPECT_TRUE(std::isnan(v) || std::fabs(v - r.mean_difference) < 1e-12) << v;
            }
        } else {
            EXPECT_TRUE(near(r.bca_low, bca[0], 1e-10)) << "bca_low";
            EXPECT_TRUE(near(r.bca_high, bca[1], 1e-10)) << "bca_high";
            record("BCa on the same resamples (_bca_interval)", r.bca_low, bca[0]);
            record("BCa on the same resamples (_bca_interval)", r.bca_high, bca[1]);
            if (!std::isnan(bca[0])) ++count.bca;
        }
    }
    const auto& tost = field(o, id + ":tost", 3);
    if (tost.size() == 3) {
        EXPECT_TRUE(near_p(r.tost_p, tost[0], 1e-10)) << "tost_p";
        EXPECT_TRUE(near_p(r.tost_p_low, tost[1], 1e-10)) << "tost_p_low";
        EXPECT_TRUE(near_p(r.tost_p_high, tost[2], 1e-10)) << "tost_p_high";
        record("TOST p (ttost_paired)", r.tost_p_low, tost[1]);
        record("TOST p (ttost_paired)", r.tost_p_high, tost[2]);
        if (!std::isnan(tost[0])) ++count.tost;
    }
    if (c.public_b > 0 && r.n >= 2) {
        const auto& pub = field(o, id + ":bca_public", 3);
        if (pub.size() == 3) {
            // Standard error of one end per unit sd and resample: sqrt(alpha (1 - alpha)) /
            // phi(z_alpha) (the quantile) and 2 * 0.5 / phi(0) (z0, twice in alpha_1,2), added in
            // quadrature: 3.28, 3.66, 5.48 at confidence 0.9, 0.95, 0.99.
            const double k = c.o.confidence == 0.9 ? 3.28 : c.o.confidence == 0.95 ? 3.66 : 5.48;
            const double se = k * pub[2] *
                              std::sqrt(1.0 / static_cast<double>(c.o.bootstrap_resamples) +
                                        1.0 / static_cast<double>(c.public_b));
            EXPECT_LE(std::fabs(r.bca_low - pub[0]), 5.0 * se) << "bca_low vs scipy.bootstrap";
            EXPECT_LE(std::fabs(r.bca_high - pub[1]), 5.0 * se) << "bca_high vs scipy.bootstrap";
            double& worst = deviations()["BCa vs scipy.stats.bootstrap (in SE)"];
            worst = std::max(
                {worst, std::fabs(r.bca_low - pub[0]) / se, std::fabs(r.bca_high - pub[1]) / se});
            ++count.public_bca;
        }
    }
}

TEST(StatsOracle, AgreesWithScipyAndStatsmodelsOnGeneratedCases) {
    constexpr int kCases = 240;
    constexpr int kPowerCases = 200;
    std::mt19937_64 rng(20240601);
    std::vector<PairedCase> cases;
    std::vector<std::vector<double>> pvalues;
    std::vector<PowerCase> power_cases;
    std::vector<double> mde_roots;
    std::vector<double> needed_roots;
    std::vector<std::pair<std::vector<double>, std::vector<double>>> curves;
    TempDir dir("stats");
    std::ofstream file(dir.file("cases.txt"));
    for (int i = 0; i < kCases; ++i) {
        cases.push_back(make_case(i, rng));
        const auto& c = cases.back();
        const std::string id = std::to_string(i);
        file << "summary s" << id << ' ' << fmt(c.o.confidence) << ' ' << c.o.bootstrap_resamples
             << ' ' << c.o.seed << ' ' << c.a.size();
        write_values(file, c.a);
        file << "\npaired p" << id << ' ' << fmt(c.o.confidence) << ' ' << c.o.bootstrap_resamples
             << ' ' << c.o.seed << ' ' << c.o.exact_max_n << ' ' << c.o.permutation_resamples << ' '
             << fmt(c.o.equivalence_margin) << ' ' << c.public_b << ' ' << c.a.size();
        write_values(file, c.a);
        write_values(file, c.b);
        // 0..20 p-values with NaN, ties, exact 0 and 1 and tiny values.
        std::vector<double> p(static_cast<std::size_t>(i % 21));
        for (std::size_t k = 0; k < p.size(); ++k) {
            const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
            p[k] = k % 7 == 3    ? kNaN
                   : k % 5 == 2  ? 0.04
                   : k % 11 == 4 ? 1.0
                   : k == 9      ? 0.0
                                 : std::pow(u, 4.0);
        }
        pvalues.push_back(p);
        file << "\npvalues h" << id << ' ' << p.size();
        write_values(file, p);
        file << '\n';
    }
    for (int i = 0; i < kPowerCases; ++i) {
        const PowerCase pc = make_power_case(i, rng);
        power_cases.push_back(pc);
        const std::string id = std::to_string(i);
        file << "power w" << id << ' ' << fmt(pc.effect) << ' ' << fmt(pc.n) << ' ' << fmt(pc.alpha)
             << '\n';
        // Inversions: n >= 3 for the effect; effects with a root above statsmodels' lower
        // bracket end (2 pairs) for the pairs.
        const double n_mde = std::max(3.0, pc.n);
        mde_roots.push_back(sp::stats::minimum_detectable_effect(n_mde, pc.alpha, pc.power));
        file << "mde m" << id << ' ' << fmt(n_mde) << ' ' << fmt(pc.alpha) << ' ' << fmt(pc.power)
             << ' ' << fmt(mde_roots.back()) << '\n';
        const double e = 0.1 + 0.9 * std::fabs(pc.effect) / 3.0;
        needed_roots.push_back(sp::stats::pairs_needed(e, pc.alpha, pc.power));
        file << "needed q" << id << ' ' << fmt(e) << ' ' << fmt(pc.alpha) << ' ' << fmt(pc.power)
             << ' ' << fmt(needed_roots.back()) << '\n';
        // Budget curves of 2..14 points; every 10th with a NaN (no oracle line: checked below).
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        std::vector<double> x(static_cast<std::size_t>(2 + i % 13));
        std::vector<double> y(x.size());
        double at = i % 2 == 0 ? 0.0 : 100.0 * unit(rng);
        for (std::size_t k = 0; k < x.size(); ++k) {
            at += i % 3 == 0 ? 100.0 : 0.01 + unit(rng) * 500.0;
            x[k] = at;
            y[k] = unit(rng);
        }
        curves.emplace_back(x, y);
        file << "aubc a" << id << ' ' << x.size();
        write_values(file, x);
        write_values(file, y);
        file << '\n';
    }
    file.close();
    const OracleValues o = run_oracle(dir.file("cases.txt"));

    PairedCounts count;
    for (int i = 0; i < kCases; ++i) {
        SCOPED_TRACE("case " + std::to_string(i));
        const std::string id = std::to_string(i);
        const auto& c = cases[static_cast<std::size_t>(i)];
        check_summary(o, "s" + id,
                      sp::stats::summarize(c.a, c.o.confidence, c.o.bootstrap_resamples, c.o.seed));
        const auto r = sp::stats::paired_test(c.a, c.b, c.o);
        check_paired(o, "p" + id, c, r, count);
        if (r.signflip_exact && (i % 10 == 1 || i % 10 == 2 || i % 10 == 6)) ++count.dyadic_ties;

        const auto& p = pvalues[static_cast<std::size_t>(i)];
        const auto h = sp::stats::holm(p);
        const auto q = sp::stats::benjamini_hochberg(p);
        const auto& hv = field(o, "h" + id + ":holm", h.size());
        const auto& hs = field(o, "h" + id + ":holm_sm", h.size());
        const auto& bh = field(o, "h" + id + ":bh", h.size());
        for (std::size_t k = 0; k < hv.size() && k < hs.size() && k < bh.size(); ++k) {
            EXPECT_TRUE(near_p(h[k], hv[k], 1e-15)) << "holm[" << k << "]";
            EXPECT_TRUE(near_p(h[k], hs[k], 1e-15)) << "holm vs statsmodels [" << k << "]";
            EXPECT_TRUE(near_p(q[k], bh[k], 1e-15)) << "benjamini_hochberg[" << k << "]";
            record("Holm (statsmodels)", h[k], hs[k]);
            record("Benjamini-Hochberg (statsmodels fdr_bh)", q[k], bh[k]);
        }
    }

    for (int i = 0; i < kPowerCases; ++i) {
        SCOPED_TRACE("power case " + std::to_string(i));
        const std::string id = std::to_string(i);
        const PowerCase& pc = power_cases[static_cast<std::size_t>(i)];
        const double pw = sp::stats::paired_t_power(pc.effect, pc.n, pc.alpha);
        const auto& w = field(o, "w" + id + ":power", 2);
        if (w.size() == 2) {
            EXPECT_NEAR(pw, w[0], 1e-8) << "power vs statsmodels";
            EXPECT_NEAR(pw, w[1], 1e-11) << "power vs refined critical value";
            record("power vs statsmodels TTestPower", pw, w[0]);
            record("power vs statsmodels formula, refined critical value", pw, w[1]);
        }
        const double e = mde_roots[static_cast<std::size_t>(i)];
        const auto& m = field(o, "m" + id + ":mde", 3);
        if (m.size() == 3) {
            EXPECT_NEAR(e, m[0], 1e-5 + 1e-6 * m[0]) << "mde vs solve_power";
            EXPECT_NEAR(m[1], pc.power, 1e-8) << "statsmodels power at sp's mde";
            EXPECT_NEAR(m[2], pc.power, 1e-10) << "refined power at sp's mde";
            record("minimum_detectable_effect vs solve_power", e, m[0]);
            record("statsmodels power at sp's root - target", m[1], pc.power);
            record("refined power at sp's root - target", m[2], pc.power);
        }
        const double n_mde = std::max(3.0, pc.n);
        EXPECT_NEAR(sp::stats::paired_t_power(e, n_mde, pc.alpha), pc.power, 1e-9);
        const double np = needed_roots[static_cast<std::size_t>(i)];
        const double e_needed = 0.1 + 0.9 * std::fabs(pc.effect) / 3.0;
        const auto& q = field(o, "q" + id + ":needed", 3);
        if (q.size() == 3) {
            EXPECT_NEAR(np, q[0], 1e-5 + 1e-6 * q[0]) << "pairs_needed vs solve_power";
            EXPECT_NEAR(q[1], pc.power, 1e-8) << "statsmodels power at sp's pairs";
            EXPECT_NEAR(q[2], pc.power, 1e-10) << "refined power at sp's pairs";
            record("pairs_needed vs solve_power (relative)", np / q[0], 1.0);
            record("statsmodels power at sp's root - target", q[1], pc.power);
            record("refined power at sp's root - target", q[2], pc.power);
        }
        EXPECT_NEAR(sp::stats::paired_t_power(e_needed, np, pc.alpha), pc.power, 1e-9);

        const auto& [x, y] = curves[static_cast<std::size_t>(i)];
        const auto& av = field(o, "a" + id + ":aubc", 1);
        if (av.size() == 1) {
            EXPECT_TRUE(near(sp::stats::aubc(x, y), av[0], 1e-12)) << "aubc";
            record("aubc (numpy.trapz)", sp::stats::aubc(x, y), av[0]);
        }
    }

    // Every path was exercised.
    EXPECT_GT(count.scipy_exact, 120);
    EXPECT_GT(count.enum_exact, 150);
    EXPECT_GT(count.monte_carlo, 40);
    EXPECT_GT(count.dyadic_ties, 60);
    EXPECT_GT(count.bca, 100);
    EXPECT_GT(count.public_bca, 8);
    EXPECT_GT(count.tost, 100);
    std::cout << "sign-flip: exact vs scipy " << count.scipy_exact << ", vs enumeration "
              << count.enum_exact << ", Monte Carlo " << count.monte_carlo << "; BCa " << count.bca
              << " (public " << count.public_bca << "); TOST " << count.tost
              << "\nlargest deviation from the oracles:\n";
    for (const auto& [what, value] : deviations()) {
        std::cout << "  " << what << ": " << value << '\n';
    }
}

} // namespace
