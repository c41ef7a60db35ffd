// stats/ against SciPy (tests/oracle/stats_oracle.py, run once with Debian's /usr/bin/python3
// for all cases): 200+ generated cases of summaries, paired tests and Holm corrections, written
// to one file; the oracle recomputes each with scipy.stats (ttest_rel, wilcoxon, t.interval,
// sem), NumPy (mean, std, median, quantile) and Python re-implementations of sp's own rules
// (the SplitMix64 bootstrap, Holm, Hedges' g). Values agree within 1e-10 (the bootstrap within
// 1e-12, in practice exactly). The t interval is checked against a Newton-refined t.ppf to 1e-10
// and against SciPy's t.interval to 1e-8: SciPy 1.10's t.ppf (Cephes stdtrit) is off by up to
// ~5e-9 relative, Boost's by ~1e-16 (checked with mpmath).
//
// The generated data carry the hard cases on purpose: values rounded to 0.01 and 0.25 (ties in
// |a - b|, half-integer rank sums in the exact Wilcoxon path), zero differences (the switch to
// the normal approximation), n > 50 (approximation without zeros), all-equal pairs (NaN), a
// constant nonzero difference (t = inf), n = 1, n = 0 and NaN entries. Hand-computed cases and
// the error cases come first.
#include "sp/stats/stats.hpp"
#include "sp/util/error.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

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

// ---- Hand-computed cases ------------------------------------------------------------------

// summarize: {1, 2, 3, 4}: mean 2.5, std sqrt(5/3), t.ppf(0.975, 3) = 3.18244630528371.
TEST(StatsSummary, HandComputed) {
    const sp::stats::Summary s = sp::stats::summarize({4.0, 1.0, kNaN, 3.0, 2.0});
    EXPECT_EQ(s.n, 4);
    EXPECT_DOUBLE_EQ(s.mean, 2.5);
    EXPECT_DOUBLE_EQ(s.std, std::sqrt(5.0 / 3.0));
    EXPECT_DOUBLE_EQ(s.median, 2.5);
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
    const auto s1 = sp::stats::summarize({0.7});
    EXPECT_EQ(s1.n, 1);
    EXPECT_EQ(s1.mean, 0.7);
    EXPECT_EQ(s1.median, 0.7);
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

// d = 1..5: t = 3 / sqrt(2.5 / 5), exact Wilcoxon R+ = 15 -> w = 0, p = 2 / 32; d_z = 3 /
// sqrt(2.5), J = 1 - 3 / (4 * 4 - 1) = 0.8.
TEST(StatsPaired, HandComputed) {
    const auto r = sp::stats::paired_test({1, 2, 3, 4, 5, kNaN}, {0, 0, 0, 0, 0, 1});
    EXPECT_EQ(r.n, 5);
    EXPECT_DOUBLE_EQ(r.mean_difference, 3.0);
    EXPECT_DOUBLE_EQ(r.t, 3.0 / std::sqrt(0.5));
    EXPECT_NEAR(r.t_p, 0.013235599563682695, 1e-15); // scipy.stats.ttest_rel
    EXPECT_EQ(r.w, 0.0);
    EXPECT_DOUBLE_EQ(r.w_p, 0.0625);
    EXPECT_DOUBLE_EQ(r.cohens_dz, 3.0 / std::sqrt(2.5));
    EXPECT_DOUBLE_EQ(r.hedges_g, 0.8 * 3.0 / std::sqrt(2.5));
}

// SciPy 1.10's Wilcoxon quirks. Ties stay exact: d = {1, -1, 2, 3} has ranks 1.5, 1.5, 3, 4, R+ =
// 8.5 truncated to 8, P(R+ >= 8) = 3/16, p = 6/16. A zero difference switches to the normal
// approximation after dropping it: d = {0.5, 1, -1, 2, 3, 0, 0.5, -4, 5, 6, 7, 8} keeps 11 with
// two tie pairs, w = R- = 2.5 + 8 = 10.5 (scipy.stats.wilcoxon: p = 0.04523380703148025).
TEST(StatsPaired, WilcoxonTiesAndZeros) {
    const auto tied = sp::stats::paired_test({1, -1, 2, 3}, {0, 0, 0, 0});
    EXPECT_EQ(tied.w, 1.5);
    EXPECT_DOUBLE_EQ(tied.w_p, 0.375);
    const auto zero = sp::stats::paired_test({0.5, 1, -1, 2, 3, 0, 0.5, -4, 5, 6, 7, 8},
                                             std::vector<double>(12, 0.0));
    EXPECT_EQ(zero.w, 10.5);
    EXPECT_NEAR(zero.w_p, 0.04523380703148025, 1e-15);
}

// All-zero differences: every test NaN (SciPy: 0/0 and a ValueError). A constant nonzero
// difference: t = inf, p = 0. One pair: only the mean and the exact Wilcoxon (p = 1).
TEST(StatsPaired, Degenerate) {
    const auto z = sp::stats::paired_test({1, 2, 3}, {1, 2, 3});
    EXPECT_EQ(z.mean_difference, 0.0);
    EXPECT_TRUE(std::isnan(z.t) && std::isnan(z.t_p) && std::isnan(z.w) && std::isnan(z.w_p));
    EXPECT_TRUE(std::isnan(z.cohens_dz) && std::isnan(z.hedges_g));
    const auto c = sp::stats::paired_test({1.1, 2.1, 3.1}, {1.0, 2.0, 3.0});
    EXPECT_EQ(c.n, 3);
    const auto c2 = sp::stats::paired_test({1.5, 2.5, 3.5}, {1.0, 2.0, 3.0});
    EXPECT_EQ(c2.t, kInf);
    EXPECT_EQ(c2.t_p, 0.0);
    EXPECT_EQ(c2.cohens_dz, kInf);
    const auto one = sp::stats::paired_test({2.0}, {1.0});
    EXPECT_EQ(one.n, 1);
    EXPECT_EQ(one.mean_difference, 1.0);
    EXPECT_TRUE(std::isnan(one.t) && std::isnan(one.cohens_dz));
    EXPECT_EQ(one.w, 0.0);
    EXPECT_EQ(one.w_p, 1.0);
    const auto none = sp::stats::paired_test({}, {});
    EXPECT_EQ(none.n, 0);
    EXPECT_TRUE(std::isnan(none.mean_difference) && std::isnan(none.w));
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

TEST(StatsErrors, BadInputThrowsDataError) {
    EXPECT_THROW(sp::stats::paired_test({1, 2}, {1}), sp::DataError);
    EXPECT_THROW(sp::stats::paired_test({1, kInf}, {1, 2}), sp::DataError);
    EXPECT_THROW(sp::stats::summarize({1, -kInf}), sp::DataError);
    EXPECT_THROW(sp::stats::summarize({1, 2}, 1.0), sp::DataError);
    EXPECT_THROW(sp::stats::summarize({1, 2}, 0.95, 0), sp::DataError);
    EXPECT_THROW(sp::stats::holm({0.5, 1.5}), sp::DataError);
    EXPECT_THROW(sp::stats::holm({-0.1}), sp::DataError);
    try {
        sp::stats::holm({0.5, 1.5});
    } catch (const sp::DataError& e) {
        EXPECT_NE(std::string(e.what()).find("p[1]"), std::string::npos) << e.what();
    }
}

// ---- Against SciPy ------------------------------------------------------------------------

struct PairedCase {
    std::vector<double> a, b;
};

/// Case i of the generated set: sizes 0..60 with the hard cases of the file comment.
PairedCase make_case(int i, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> size(2, 60);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const int kind = i % 10;
    int n = size(rng);
    if (kind == 7) n = 51 + i % 10; // approximation without zeros
    if (i == 0) n = 0;
    if (i == 10) n = 1;
    PairedCase c;
    const double shift = 0.3 * normal(rng);
    const double scale = unit(rng) < 0.5 ? 1.0 : 0.05;
    for (int k = 0; k < n; ++k) {
        const double base = 0.5 + scale * normal(rng);
        c.b.push_back(base);
        c.a.push_back(base + scale * (shift + normal(rng)));
    }
    auto round_to = [](std::vector<double>& v, double step) {
        for (double& x : v) x = std::round(x / step) * step;
    };
    switch (kind) {
    case 1: // ties in |d| and zero differences (decimal steps)
        round_to(c.a, 0.01);
        round_to(c.b, 0.01);
        break;
    case 2: // ties without zeros: half-integer R+ on the exact path
        round_to(c.a, 0.25);
        round_to(c.b, 0.25);
        for (std::size_t k = 0; k < c.a.size(); ++k) {
            if (c.a[k] == c.b[k]) c.a[k] += 0.25;
        }
        break;
    case 3: // a few zero differences injected
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
        }
        break;
    case 6: // one nonzero difference among zeros
        c.a = c.b;
        if (!c.a.empty()) c.a[0] += 0.1;
        break;
    default:
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

TEST(StatsOracle, AgreesWithScipyOnGeneratedCases) {
    constexpr int kCases = 200;
    constexpr double kTol = 1e-10;
    std::mt19937_64 rng(20240601);
    std::vector<PairedCase> cases;
    std::vector<double> confidence;
    std::vector<std::int64_t> resamples;
    std::vector<std::vector<double>> pvalues;
    TempDir dir("stats");
    std::ofstream file(dir.file("cases.txt"));
    const double conf_choices[] = {0.95, 0.9, 0.99};
    const std::int64_t b_choices[] = {10000, 1, 2, 999, 2000};
    for (int i = 0; i < kCases; ++i) {
        cases.push_back(make_case(i, rng));
        const auto& c = cases.back();
        confidence.push_back(conf_choices[i % 3]);
        resamples.push_back(b_choices[i % 5]);
        const std::string id = std::to_string(i);
        file << "summary s" << id << ' ' << fmt(confidence.back()) << ' ' << resamples.back() << ' '
             << i << ' ' << c.a.size();
        for (const double v : c.a) file << ' ' << fmt(v);
        file << "\npaired p" << id << ' ' << c.a.size();
        for (const double v : c.a) file << ' ' << fmt(v);
        for (const double v : c.b) file << ' ' << fmt(v);
        // Holm: 0..20 p-values with NaN, ties, exact 0 and 1 and tiny values.
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
        file << "\nholm h" << id << ' ' << p.size();
        for (const double v : p) file << ' ' << fmt(v);
        file << '\n';
    }
    file.close();
    const OracleValues o = run_oracle(dir.file("cases.txt"));

    int exact_wilcoxon = 0;
    int approx_wilcoxon = 0;
    int exact_half_ranks = 0; // exact path with a truncated half-integer R+
    for (int i = 0; i < kCases; ++i) {
        SCOPED_TRACE("case " + std::to_string(i));
        const std::string id = std::to_string(i);
        const auto& c = cases[static_cast<std::size_t>(i)];

        const auto s = sp::stats::summarize(c.a, confidence[static_cast<std::size_t>(i)],
                                            resamples[static_cast<std::size_t>(i)],
                                            static_cast<std::uint64_t>(i));
        const auto& sn = field(o, "s" + id + ":n", 1);
        if (!sn.empty()) {
            EXPECT_EQ(static_cast<double>(s.n), sn[0]);
        }
        const auto& sv = field(o, "s" + id + ":stats", 9);
        if (sv.size() == 9) {
            EXPECT_TRUE(near(s.mean, sv[0], kTol)) << "mean";
            EXPECT_TRUE(near(s.std, sv[1], kTol)) << "std";
            EXPECT_TRUE(near(s.median, sv[2], kTol)) << "median";
            EXPECT_TRUE(near(s.min, sv[3], 0.0)) << "min";
            EXPECT_TRUE(near(s.max, sv[4], 0.0)) << "max";
            EXPECT_TRUE(near(s.t_low, sv[5], kTol)) << "t_low";
            EXPECT_TRUE(near(s.t_high, sv[6], kTol)) << "t_high";
            EXPECT_TRUE(near(s.boot_low, sv[7], 1e-12)) << "boot_low";
            EXPECT_TRUE(near(s.boot_high, sv[8], 1e-12)) << "boot_high";
        }
        // SciPy's own t.interval: its Cephes t.ppf is good to ~5e-9 relative only.
        const auto& si = field(o, "s" + id + ":scipy_interval", 2);
        if (si.size() == 2) {
            EXPECT_TRUE(near(s.t_low, si[0], 1e-8)) << "scipy t_low";
            EXPECT_TRUE(near(s.t_high, si[1], 1e-8)) << "scipy t_high";
        }

        const auto r = sp::stats::paired_test(c.a, c.b);
        const auto& pn = field(o, "p" + id + ":n", 1);
        if (!pn.empty()) {
            EXPECT_EQ(static_cast<double>(r.n), pn[0]);
        }
        const auto& pv = field(o, "p" + id + ":tests", 7);
        if (pv.size() == 7) {
            EXPECT_TRUE(near(r.mean_difference, pv[0], kTol)) << "mean_difference";
            EXPECT_TRUE(near(r.t, pv[1], kTol)) << "t";
            EXPECT_TRUE(near_p(r.t_p, pv[2], kTol)) << "t_p";
            EXPECT_TRUE(near(r.w, pv[3], 0.0)) << "w";
            EXPECT_TRUE(near_p(r.w_p, pv[4], kTol)) << "w_p";
            EXPECT_TRUE(near(r.cohens_dz, pv[5], kTol)) << "cohens_dz";
            EXPECT_TRUE(near(r.hedges_g, pv[6], kTol)) << "hedges_g";
        }
        bool zeros = false;
        for (std::size_t k = 0; k < c.a.size(); ++k) zeros = zeros || c.a[k] == c.b[k];
        if (!std::isnan(r.w_p)) ++(r.n <= 50 && !zeros ? exact_wilcoxon : approx_wilcoxon);
        if (r.n <= 50 && !zeros && r.w != std::floor(r.w)) ++exact_half_ranks;

        const auto h = sp::stats::holm(pvalues[static_cast<std::size_t>(i)]);
        const auto& hv = field(o, "h" + id + ":holm", h.size());
        for (std::size_t k = 0; k < hv.size(); ++k) {
            EXPECT_TRUE(near_p(h[k], hv[k], 1e-15)) << "holm[" << k << "]";
        }
    }
    // Both Wilcoxon paths were exercised.
    EXPECT_GT(exact_wilcoxon, 50);
    EXPECT_GT(approx_wilcoxon, 30);
    EXPECT_GT(exact_half_ranks, 5);
    std::cout << "wilcoxon exact " << exact_wilcoxon << " (half-integer R+ " << exact_half_ranks
              << "), approximate " << approx_wilcoxon << '\n';
}

} // namespace
