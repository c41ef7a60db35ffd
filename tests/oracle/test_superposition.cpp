// metrics/superposition against NumPy (tests/oracle/superposition_oracle.py, run with Debian's
// /usr/bin/python3): random, clustered and rectified float32 embeddings are written to a file and
// the oracle recomputes every measure in float64 straight from the formulas in
// results-schema/measures.md (np.cov(bias=True), np.linalg.eigvalsh, eigh / pinv for NC1, the
// per-unit formulas unit by unit, the Toy-Models formula on a random W).
//
// Every oracle data set carries the degenerate cases: a duplicated row, a zero row, a class with a
// single row and a class index with no rows; the rectified sets add dead units (all zero, and all
// negative) and a unit of mixed sign. Separate tests pin the documented values on inputs where a
// measure is undefined (NaN) or defined by convention (0).
//
// Tolerances: scalars and per-unit values within 1e-9 relative (plus 1e-12 absolute, for values
// near 0); the spectrum within 1e-9 of its largest eigenvalue; counts exactly equal; NaN exactly
// where the oracle has NaN. Separately, results are bit-identical across thread counts.
#include "sp/metrics/superposition.hpp"
#include "sp/util/error.hpp"

#include "support/oracle.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using sp::FeatureDimensionality;
using sp::Superposition;
using sp::SuperpositionOptions;
using sp::test::field;
using sp::test::OracleValues;
using sp::test::python;
using sp::test::TempDir;
using sp::test::write_binary;

namespace {

enum class Kind { random, clustered, rectified };

using Data = sp::test::LabelledEmbeddings;

// n x d embeddings, labels in [0, k - 1) except the last row, the only one of class k - 1;
// classes = k + 1 so index k has no rows. Row 5 duplicates row 0, row 7 is zero. Clustered: class
// centres (spread 3) plus an offset of 5 plus unit noise. Rectified: clustered, then ReLU, with
// unit 1 zero everywhere, unit 2 negative everywhere (both dead) and unit 3 of mixed sign.
Data make_data(std::int64_t n, std::int64_t d, std::int64_t k, Kind kind, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::uniform_int_distribution<std::int64_t> label(0, k - 2);
    Data data;
    data.n = n;
    data.d = d;
    data.classes = k + 1;
    std::vector<float> centres(static_cast<std::size_t>(k * d), 0.0F);
    if (kind != Kind::random) {
        for (auto& c : centres) c = 3.0F * normal(rng) + (kind == Kind::clustered ? 5.0F : 0.5F);
    }
    auto at = [&](std::int64_t i, std::int64_t c) -> float& {
        return data.x[static_cast<std::size_t>(i * d + c)];
    };
    data.x.resize(static_cast<std::size_t>(n * d));
    data.labels.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t y = i == n - 1 ? k - 1 : label(rng);
        data.labels[static_cast<std::size_t>(i)] = y;
        for (std::int64_t c = 0; c < d; ++c)
            at(i, c) = centres[static_cast<std::size_t>(y * d + c)] + normal(rng);
    }
    if (kind == Kind::rectified) {
        for (std::int64_t i = 0; i < n; ++i) {
            for (std::int64_t c = 0; c < d; ++c) {
                float& v = at(i, c);
                if (c == 1) {
                    v = 0.0F;
                } else if (c == 2) {
                    v = -std::abs(v) - 0.25F;
                } else if (c != 3) {
                    v = std::max(v, 0.0F);
                }
            }
        }
    }
    for (std::int64_t c = 0; c < d; ++c) {
        at(5, c) = at(0, c);
        at(7, c) = 0.0F;
    }
    data.labels[5] = data.labels[0];
    return data;
}

double scalar(const OracleValues& o, const std::string& name) {
    const auto& v = field(o, name);
    return v.empty() ? std::numeric_limits<double>::quiet_NaN() : v[0];
}

void expect_rel(double got, double want, const std::string& what) {
    if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << what << ": sp " << got << ", oracle NaN";
        return;
    }
    EXPECT_LE(std::abs(got - want), 1e-9 * std::abs(want) + 1e-12)
        << what << ": sp " << got << " oracle " << want;
}

/// Runs the oracle once for all `jobs` (one interpreter start) and returns their values.
std::vector<OracleValues> oracle(const std::vector<std::vector<std::string>>& jobs) {
    return sp::test::run_oracle_jobs("tests/oracle/superposition_oracle.py", jobs);
}

/// Writes `data` under `dir` (file names tagged with `tag`) and returns the oracle job for it.
std::vector<std::string> measures_job(const Data& data, double fraction, const TempDir& dir,
                                      const std::string& tag) {
    write_binary(dir.file(tag + "x.bin"), data.x);
    write_binary(dir.file(tag + "labels.bin"), data.labels);
    std::ostringstream frac;
    frac.precision(17);
    frac << fraction;
    return {"measures",
            dir.file(tag + "x.bin"),
            dir.file(tag + "labels.bin"),
            std::to_string(data.n),
            std::to_string(data.d),
            std::to_string(data.classes),
            frac.str()};
}

/// Runs sp on `data` and compares every field with the oracle's values `o`.
Superposition compare_measures(const Data& data, double fraction, const OracleValues& o) {
    SuperpositionOptions opt;
    opt.responsive_fraction = fraction;
    const Superposition s = sp::superposition_measures(data.x.data(), data.n, data.d,
                                                       data.labels.data(), data.classes, opt);
    EXPECT_EQ(s.classes_present, static_cast<std::int64_t>(scalar(o, "classes_present")));
    expect_rel(s.participation_ratio, scalar(o, "participation_ratio"), "participation_ratio");
    const auto& spectrum = field(o, "covariance_spectrum");
    EXPECT_EQ(s.covariance_spectrum.size(), spectrum.size());
    if (s.covariance_spectrum.size() == spectrum.size() && !spectrum.empty()) {
        const double tol = 1e-9 * std::max(std::abs(spectrum[0]), 1e-300);
        for (std::size_t i = 0; i < spectrum.size(); ++i) {
            EXPECT_NEAR(s.covariance_spectrum[i], spectrum[i], tol) << "eigenvalue " << i;
            EXPECT_GE(s.covariance_spectrum[i], 0.0);
            if (i > 0) {
                EXPECT_LE(s.covariance_spectrum[i], s.covariance_spectrum[i - 1]);
            }
        }
    }
    expect_rel(s.nc1, scalar(o, "nc1"), "nc1");
    expect_rel(s.nc1, scalar(o, "nc1_pinv"), "nc1 vs numpy.linalg.pinv");
    expect_rel(s.within_between_ratio, scalar(o, "within_between_ratio"), "within_between_ratio");

    const auto& sel = field(o, "unit_selectivity");
    const auto& cls = field(o, "unit_classes");
    EXPECT_EQ(s.unit_selectivity.size(), sel.size());
    EXPECT_EQ(s.unit_classes.size(), cls.size());
    for (std::size_t j = 0; j < std::min(sel.size(), s.unit_selectivity.size()); ++j)
        expect_rel(s.unit_selectivity[j], sel[j], "unit_selectivity[" + std::to_string(j) + "]");
    for (std::size_t j = 0; j < std::min(cls.size(), s.unit_classes.size()); ++j)
        EXPECT_EQ(s.unit_classes[j], static_cast<std::int64_t>(cls[j])) << "unit_classes " << j;
    EXPECT_EQ(s.dead_units, static_cast<std::int64_t>(scalar(o, "dead_units")));
    expect_rel(s.selectivity_mean, scalar(o, "selectivity_mean"), "selectivity_mean");
    expect_rel(s.classes_per_unit_mean, scalar(o, "classes_per_unit_mean"),
               "classes_per_unit_mean");
    return s;
}

/// One data set against the oracle.
Superposition check_against_oracle(const Data& data, double fraction = 0.5) {
    TempDir dir("superposition_oracle");
    const auto o = oracle({measures_job(data, fraction, dir, "")});
    return compare_measures(data, fraction, o.at(0));
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_identical(const Superposition& a, const Superposition& b) {
    EXPECT_TRUE(same_bits(a.participation_ratio, b.participation_ratio));
    EXPECT_TRUE(same_bits(a.nc1, b.nc1)) << a.nc1 << " vs " << b.nc1;
    EXPECT_TRUE(same_bits(a.within_between_ratio, b.within_between_ratio));
    EXPECT_TRUE(same_bits(a.selectivity_mean, b.selectivity_mean));
    EXPECT_TRUE(same_bits(a.classes_per_unit_mean, b.classes_per_unit_mean));
    EXPECT_EQ(a.dead_units, b.dead_units);
    EXPECT_EQ(a.classes_present, b.classes_present);
    EXPECT_EQ(a.unit_classes, b.unit_classes);
    ASSERT_EQ(a.covariance_spectrum.size(), b.covariance_spectrum.size());
    for (std::size_t i = 0; i < a.covariance_spectrum.size(); ++i)
        EXPECT_TRUE(same_bits(a.covariance_spectrum[i], b.covariance_spectrum[i])) << i;
    ASSERT_EQ(a.unit_selectivity.size(), b.unit_selectivity.size());
    for (std::size_t i = 0; i < a.unit_selectivity.size(); ++i)
        EXPECT_TRUE(same_bits(a.unit_selectivity[i], b.unit_selectivity[i])) << i;
}

class SuperpositionOracle : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sp::test::python_has("numpy")) GTEST_SKIP() << python() << " lacks numpy";
    }
};

// ---- Every measure against NumPy, on data that carries the degenerate rows and classes.

TEST_F(SuperpositionOracle, RandomClusteredAndRectifiedData) {
    struct Case {
        std::int64_t n, d, k;
        Kind kind;
        double fraction;
    };
    const Case cases[] = {
        {50, 8, 2, Kind::random, 0.5},         {300, 12, 4, Kind::random, 0.5},
        {200, 16, 5, Kind::clustered, 0.5},    {500, 8, 10, Kind::clustered, 0.5}, // K - 1 > d
        {2000, 64, 10, Kind::clustered, 0.9},  {777, 32, 10, Kind::rectified, 0.5},
        {1500, 100, 7, Kind::rectified, 0.25}, // two tile columns, one partial
    };
    std::vector<Data> data;
    std::vector<std::vector<std::string>> jobs;
    TempDir dir("superposition_oracle");
    std::uint64_t seed = 11;
    for (const Case& c : cases) {
        data.push_back(make_data(c.n, c.d, c.k, c.kind, ++seed));
        jobs.push_back(measures_job(data.back(), c.fraction, dir, std::to_string(jobs.size())));
    }
    const auto o = oracle(jobs);
    for (std::size_t i = 0; i < data.size(); ++i) {
        const Case& c = cases[i];
        SCOPED_TRACE("n " + std::to_string(c.n) + " d " + std::to_string(c.d) + " K " +
                     std::to_string(c.k));
        const Superposition s = compare_measures(data[i], c.fraction, o.at(i));
        EXPECT_EQ(s.classes_present, c.k); // index k has no rows
        EXPECT_FALSE(std::isnan(s.nc1));
        if (c.kind == Kind::rectified) {
            EXPECT_GE(s.dead_units, 2);
        }
    }
}

// ---- Degenerate inputs: the documented values, and the oracle agrees.

TEST_F(SuperpositionOracle, SingleClassLeavesCollapseAndSelectivityUndefined) {
    Data data = make_data(120, 10, 3, Kind::rectified, 5);
    for (auto& y : data.labels) y = 1;
    const Superposition s = check_against_oracle(data);
    EXPECT_EQ(s.classes_present, 1);
    EXPECT_TRUE(std::isnan(s.nc1));
    EXPECT_TRUE(std::isnan(s.within_between_ratio));
    EXPECT_TRUE(std::isnan(s.selectivity_mean));
    EXPECT_GT(s.participation_ratio, 1.0);
    for (std::size_t j = 0; j < s.unit_classes.size(); ++j) {
        EXPECT_TRUE(std::isnan(s.unit_selectivity[j]));
        if (j == 1 || j == 2) {
            EXPECT_EQ(s.unit_classes[j], 0) << j; // dead
        }
        if (j > 3 || j == 0) {
            EXPECT_EQ(s.unit_classes[j], 1) << j; // rectified: live
        }
    }
    EXPECT_GE(s.dead_units, 2);
    EXPECT_EQ(s.classes_per_unit_mean, 1.0); // a live unit responds to its one class
}

TEST_F(SuperpositionOracle, CollapsedClassesHaveZeroWithinScatter) {
    // Every row of a class equal to its class mean: Sigma_W = 0, so NC1 = 0 and the ratio is 0.
    const Data base = make_data(60, 6, 4, Kind::clustered, 9);
    Data data = base;
    for (std::int64_t i = 0; i < data.n; ++i) {
        for (std::int64_t c = 0; c < data.d; ++c) {
            data.x[static_cast<std::size_t>(i * data.d + c)] =
                static_cast<float>(data.labels[static_cast<std::size_t>(i)] + 1) *
                static_cast<float>(c % 3 + 1);
        }
    }
    const Superposition s = check_against_oracle(data);
    EXPECT_EQ(s.nc1, 0.0);
    EXPECT_EQ(s.within_between_ratio, 0.0);
}

TEST_F(SuperpositionOracle, IdenticalRowsAndSingleRow) {
    // All rows identical, two classes: C = 0 (participation ratio 0 by definition, spectrum 0),
    // Sigma_B = 0 (NC1 and the ratio undefined), every class mean equal (selectivity 0, every
    // class responds).
    Data data;
    data.n = 9;
    data.d = 5;
    data.classes = 2;
    for (std::int64_t i = 0; i < data.n; ++i) {
        data.labels.push_back(i % 2);
        for (std::int64_t c = 0; c < data.d; ++c) data.x.push_back(0.5F * static_cast<float>(c));
    }
    Superposition s = check_against_oracle(data);
    EXPECT_EQ(s.participation_ratio, 0.0);
    for (const double l : s.covariance_spectrum) EXPECT_EQ(l, 0.0);
    EXPECT_TRUE(std::isnan(s.nc1));
    EXPECT_TRUE(std::isnan(s.within_between_ratio));
    EXPECT_EQ(s.dead_units, 1); // unit 0 is 0 everywhere
    EXPECT_TRUE(std::isnan(s.unit_selectivity[0]));
    for (std::size_t j = 1; j < 5; ++j) {
        EXPECT_EQ(s.unit_selectivity[j], 0.0);
        EXPECT_EQ(s.unit_classes[j], 2);
    }

    // One row.
    const std::vector<float> one{1.0F, -2.0F, 0.0F};
    const std::vector<std::int64_t> label{0};
    s = sp::superposition_measures(one.data(), 1, 3, label.data(), 1);
    EXPECT_EQ(s.classes_present, 1);
    EXPECT_EQ(s.participation_ratio, 0.0);
    EXPECT_EQ(s.covariance_spectrum, std::vector<double>(3, 0.0));
    EXPECT_TRUE(std::isnan(s.nc1));
    EXPECT_EQ(s.dead_units, 2);
    EXPECT_EQ(s.unit_classes, (std::vector<std::int64_t>{1, 0, 0}));
    EXPECT_EQ(s.classes_per_unit_mean, 1.0);
}

TEST(SuperpositionDegenerate, ClassIndicesWithNoRowsChangeNothing) {
    const Data data = make_data(400, 20, 6, Kind::rectified, 21);
    const Superposition a =
        sp::superposition_measures(data.x.data(), data.n, data.d, data.labels.data(), data.classes);
    const Superposition b = sp::superposition_measures(data.x.data(), data.n, data.d,
                                                       data.labels.data(), data.classes + 5);
    EXPECT_EQ(a.classes_present, 6);
    expect_identical(a, b);
}

TEST(SuperpositionDegenerate, SelectivityOfNegativeAndDeadUnits) {
    // Class means per unit (3 classes, one row each): unit 0 (2, -1, -1): the denominator is
    // |mu_max| + |mu_rest| = 3, selectivity 1; unit 1 (-1, -2, -3) and unit 2 (0, 0, 0): dead;
    // unit 3 (4, 2, 0): (4 - 1) / (4 + 1) = 0.6, responds to 2 classes at fraction 0.5;
    // unit 4 (3, 3, 1): ties leave the first maximal class out, mu_rest = 2, selectivity 0.2,
    // responds to 2 classes.
    const std::vector<float> x{2, -1, 0, 4, 3, -1, -2, 0, 2, 3, -1, -3, 0, 0, 1};
    const std::vector<std::int64_t> labels{0, 1, 2};
    const Superposition s = sp::superposition_measures(x.data(), 3, 5, labels.data(), 3);
    EXPECT_DOUBLE_EQ(s.unit_selectivity[0], 1.0);
    EXPECT_TRUE(std::isnan(s.unit_selectivity[1]));
    EXPECT_TRUE(std::isnan(s.unit_selectivity[2]));
    EXPECT_DOUBLE_EQ(s.unit_selectivity[3], 0.6);
    EXPECT_DOUBLE_EQ(s.unit_selectivity[4], 0.2);
    EXPECT_EQ(s.unit_classes, (std::vector<std::int64_t>{1, 0, 0, 2, 2}));
    EXPECT_EQ(s.dead_units, 2);
    EXPECT_DOUBLE_EQ(s.selectivity_mean, (1.0 + 0.6 + 0.2) / 3.0);
    EXPECT_DOUBLE_EQ(s.classes_per_unit_mean, 5.0 / 3.0);
    // Sigma_W = 0 (one row per class): NC1 = 0.
    EXPECT_EQ(s.nc1, 0.0);

    // Every unit dead: the means over live units are undefined.
    const std::vector<float> zeros(6, 0.0F);
    const std::vector<std::int64_t> two{0, 1, 1};
    const Superposition z = sp::superposition_measures(zeros.data(), 3, 2, two.data(), 2);
    EXPECT_EQ(z.dead_units, 2);
    EXPECT_TRUE(std::isnan(z.selectivity_mean));
    EXPECT_TRUE(std::isnan(z.classes_per_unit_mean));
    EXPECT_EQ(z.participation_ratio, 0.0);
}

// ---- Feature dimensionality (Toy Models of Superposition).

TEST_F(SuperpositionOracle, FeatureDimensionalityMatchesNumpy) {
    struct Case {
        std::int64_t features, d;
    };
    const Case cases[] = {{10, 16}, {200, 64}, {5, 3}, {1, 4}};
    std::vector<std::vector<float>> weights;
    std::vector<std::vector<std::string>> jobs;
    TempDir dir("superposition_fd");
    std::uint64_t seed = 100;
    for (const Case c : cases) {
        std::mt19937_64 rng(++seed);
        std::normal_distribution<float> normal(0.0F, 0.3F);
        std::vector<float> w(static_cast<std::size_t>(c.features * c.d));
        for (auto& v : w) v = normal(rng);
        if (c.features > 2) {
            for (std::int64_t j = 0; j < c.d; ++j) w[static_cast<std::size_t>(2 * c.d + j)] = 0.0F;
        }
        const std::string path = dir.file(std::to_string(jobs.size()) + "w.bin");
        write_binary(path, w);
        jobs.push_back({"dimensionality", path, std::to_string(c.features), std::to_string(c.d)});
        weights.push_back(std::move(w));
    }
    const auto oracle_values = oracle(jobs);
    for (std::size_t k = 0; k < jobs.size(); ++k) {
        const Case c = cases[k];
        const OracleValues& o = oracle_values.at(k);
        SCOPED_TRACE(std::to_string(c.features) + " x " + std::to_string(c.d));
        const FeatureDimensionality f =
            sp::feature_dimensionality(weights[k].data(), c.features, c.d);
        const auto& per = field(o, "per_feature");
        ASSERT_EQ(f.per_feature.size(), per.size());
        for (std::size_t i = 0; i < per.size(); ++i) {
            expect_rel(f.per_feature[i], per[i], "D_" + std::to_string(i));
            EXPECT_GE(f.per_feature[i], 0.0);
            EXPECT_LE(f.per_feature[i], 1.0);
        }
        if (c.features > 2) {
            EXPECT_EQ(f.per_feature[2], 0.0); // zero class vector
        }
        expect_rel(f.total, scalar(o, "total"), "total");
        expect_rel(f.dimensions_per_feature, scalar(o, "dimensions_per_feature"),
                   "dimensions_per_feature");
    }
}

TEST(SuperpositionFeatureDimensionality, KnownGeometries) {
    // Orthogonal features each own a dimension: D_i = 1.
    std::vector<float> eye(3 * 4, 0.0F);
    for (std::size_t i = 0; i < 3; ++i) eye[i * 4 + i] = 2.0F;
    FeatureDimensionality f = sp::feature_dimensionality(eye.data(), 3, 4);
    EXPECT_EQ(f.per_feature, std::vector<double>(3, 1.0));
    EXPECT_EQ(f.total, 3.0);
    EXPECT_DOUBLE_EQ(f.dimensions_per_feature, 4.0 / 12.0);
    // An antipodal pair shares one dimension: D_i = 1/2 (the paper's digon).
    const std::vector<float> pair{1.0F, -1.0F};
    f = sp::feature_dimensionality(pair.data(), 2, 1);
    EXPECT_EQ(f.per_feature, std::vector<double>(2, 0.5));
    EXPECT_EQ(f.dimensions_per_feature, 0.5);
    // W = 0: every D_i = 0, D* undefined.
    const std::vector<float> zero(6, 0.0F);
    f = sp::feature_dimensionality(zero.data(), 2, 3);
    EXPECT_EQ(f.per_feature, std::vector<double>(2, 0.0));
    EXPECT_EQ(f.total, 0.0);
    EXPECT_TRUE(std::isnan(f.dimensions_per_feature));
}

// ---- Determinism and input checks.

TEST(SuperpositionDeterminism, ThreadCountsGiveIdenticalBits) {
    const Data data = make_data(3000, 150, 10, Kind::rectified, 77);
    SuperpositionOptions opt;
    opt.threads = 1;
    const Superposition ref = sp::superposition_measures(data.x.data(), data.n, data.d,
                                                         data.labels.data(), data.classes, opt);
    for (const int threads : {2, 0}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        opt.threads = threads;
        expect_identical(sp::superposition_measures(data.x.data(), data.n, data.d,
                                                    data.labels.data(), data.classes, opt),
                         ref);
    }
    // One tile (d <= 64), where the product runs outside a parallel region.
    const Data small = make_data(5000, 40, 5, Kind::clustered, 78);
    opt.threads = 1;
    const Superposition one = sp::superposition_measures(small.x.data(), small.n, small.d,
                                                         small.labels.data(), small.classes, opt);
    opt.threads = 2;
    expect_identical(sp::superposition_measures(small.x.data(), small.n, small.d,
                                                small.labels.data(), small.classes, opt),
                     one);
}

TEST(SuperpositionInput, RejectsBadShapesLabelsValuesAndOptions) {
    const Data data = make_data(20, 4, 3, Kind::random, 3);
    const float* x = data.x.data();
    const std::int64_t* y = data.labels.data();
    std::vector<std::int64_t> bad = data.labels;
    bad[4] = data.classes;
    EXPECT_THROW(sp::superposition_measures(x, 20, 4, bad.data(), data.classes), sp::DataError);
    bad[4] = -1;
    EXPECT_THROW(sp::superposition_measures(x, 20, 4, bad.data(), data.classes), sp::DataError);
    EXPECT_THROW(sp::superposition_measures(x, 0, 4, y, data.classes), sp::DataError);
    EXPECT_THROW(sp::superposition_measures(x, 20, 0, y, data.classes), sp::DataError);
    EXPECT_THROW(sp::superposition_measures(x, 20, 4, y, 0), sp::DataError);
    EXPECT_THROW(sp::superposition_measures(nullptr, 20, 4, y, data.classes), sp::DataError);
    EXPECT_THROW(sp::superposition_measures(x, 20, 4, nullptr, data.classes), sp::DataError);
    std::vector<float> nan_x = data.x;
    nan_x[13] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(sp::superposition_measures(nan_x.data(), 20, 4, y, data.classes), sp::DataError);
    SuperpositionOptions opt;
    opt.responsive_fraction = 1.5;
    EXPECT_THROW(sp::superposition_measures(x, 20, 4, y, data.classes, opt), sp::ConfigError);
    opt.responsive_fraction = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(sp::superposition_measures(x, 20, 4, y, data.classes, opt), sp::ConfigError);
    opt = {};
    opt.threads = -1;
    EXPECT_THROW(sp::superposition_measures(x, 20, 4, y, data.classes, opt), sp::ConfigError);

    EXPECT_THROW(sp::feature_dimensionality(x, 0, 4), sp::DataError);
    EXPECT_THROW(sp::feature_dimensionality(x, 4, 0), sp::DataError);
    EXPECT_THROW(sp::feature_dimensionality(nullptr, 4, 4), sp::DataError);
    std::vector<float> inf_w(8, 1.0F);
    inf_w[6] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(sp::feature_dimensionality(inf_w.data(), 2, 4), sp::DataError);
}

TEST(SuperpositionScale, TenThousandBy512) {
    // CIFAR-10's evaluation set: 10,000 x 512 with 10 classes, at full size. No timing here: the
    // speed goal is measured in bench/ (metrics_bench), never asserted by a test.
    const Data data = make_data(10000, 512, 10, Kind::rectified, 5);
    const Superposition s =
        sp::superposition_measures(data.x.data(), data.n, data.d, data.labels.data(), data.classes);
    ASSERT_EQ(s.covariance_spectrum.size(), 512U);
    // The documented relations at this size: a descending, non-negative spectrum whose
    // (sum lambda)^2 / sum lambda^2 is the participation ratio, in [1, d].
    double sum = 0.0;
    double squares = 0.0;
    for (std::size_t i = 0; i < s.covariance_spectrum.size(); ++i) {
        const double lambda = s.covariance_spectrum[i];
        ASSERT_TRUE(std::isfinite(lambda)) << i;
        EXPECT_GE(lambda, 0.0) << i;
        if (i > 0) {
            EXPECT_LE(lambda, s.covariance_spectrum[i - 1]) << i;
        }
        sum += lambda;
        squares += lambda * lambda;
    }
    ASSERT_GT(squares, 0.0);
    EXPECT_NEAR(s.participation_ratio, sum * sum / squares, 1e-9 * s.participation_ratio);
    EXPECT_GE(s.participation_ratio, 1.0);
    EXPECT_LE(s.participation_ratio, 512.0);
    EXPECT_EQ(s.classes_present, 10);
    EXPECT_EQ(s.unit_selectivity.size(), 512U);
    EXPECT_EQ(s.unit_classes.size(), 512U);
}

} // namespace
