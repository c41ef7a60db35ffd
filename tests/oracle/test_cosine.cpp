// metrics/cosine against NumPy and scikit-learn (tests/oracle/cosine_oracle.py, run with Debian's
// /usr/bin/python3): random float32 embeddings, with duplicate rows and a zero row, are written to
// a file; the oracle computes the same statistics in float64 from the same float32 values
// (cosine_similarity, clip to [-1, 1], numpy.histogram(bins=50, range=(-1, 1)) on the upper
// triangle, on its within- and between-class parts and on the full N x N matrix; mean, population
// std, min, max; cosine_similarity of the class means).
//
// Tolerances: counts and histograms exactly equal (both sides compute each cosine in float64 from
// the same inputs, differing by a few ulps at most, and no random cosine lies that close to a bin
// edge; the zero row's cosines are exactly 0 on both sides, an exact edge, binned alike);
// mean and std within 1e-12 relative (plus 1e-15 absolute); min, max and the class-means matrix
// within 1e-12 absolute; histogram quantiles within one bin width (quantile_resolution) of
// numpy.quantile (sets of >= 100 values). Separately, results must be bit-identical across chunk
// sizes and thread counts.
#include "sp/metrics/cosine.hpp"
#include "sp/util/error.hpp"

#include "support/oracle.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using sp::CosineOptions;
using sp::CosineSetStats;
using sp::CosineStats;
using sp::test::OracleValues;
using sp::test::TempDir;

namespace {

constexpr std::int64_t kD = 16;
constexpr std::int64_t kK = 5;
constexpr std::int64_t kBins = 50;

struct Data {
    std::int64_t n = 0;
    std::vector<float> x;
    std::vector<std::int64_t> labels;
};

// Class centres plus noise and a common offset (so means are well away from 0), rows 5 and 11
// duplicating rows 0 and 3, row 7 all zeros.
Data make_data(std::int64_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::uniform_int_distribution<std::int64_t> label(0, kK - 1);
    std::vector<float> centres(static_cast<std::size_t>(kK * kD));
    for (auto& c : centres) c = 1.5F * normal(rng) + 0.5F;
    Data data;
    data.n = n;
    data.x.resize(static_cast<std::size_t>(n * kD));
    data.labels.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t k = label(rng);
        data.labels[static_cast<std::size_t>(i)] = k;
        for (std::int64_t c = 0; c < kD; ++c) {
            data.x[static_cast<std::size_t>(i * kD + c)] =
                centres[static_cast<std::size_t>(k * kD + c)] + normal(rng);
        }
    }
    auto copy_row = [&](std::int64_t from, std::int64_t to) {
        if (to >= n) return;
        for (std::int64_t c = 0; c < kD; ++c)
            data.x[static_cast<std::size_t>(to * kD + c)] =
                data.x[static_cast<std::size_t>(from * kD + c)];
        data.labels[static_cast<std::size_t>(to)] = data.labels[static_cast<std::size_t>(from)];
    };
    copy_row(0, 5);
    copy_row(3, 11);
    if (n > 7) {
        for (std::int64_t c = 0; c < kD; ++c) data.x[static_cast<std::size_t>(7 * kD + c)] = 0.0F;
    }
    return data;
}

void expect_rel(double got, double want, const std::string& what) {
    EXPECT_LE(std::abs(got - want), 1e-12 * std::abs(want) + 1e-15)
        << what << ": sp " << got << " oracle " << want;
}

void expect_set(const CosineSetStats& s, const OracleValues& o, const std::string& name,
                double resolution) {
    SCOPED_TRACE(name);
    ASSERT_EQ(o.count(name + "_count"), 1U);
    EXPECT_EQ(s.count, static_cast<std::int64_t>(o.at(name + "_count").at(0)));
    const auto& hist = o.at(name + "_hist");
    ASSERT_EQ(s.histogram.size(), hist.size());
    for (std::size_t b = 0; b < hist.size(); ++b)
        EXPECT_EQ(s.histogram[b], static_cast<std::int64_t>(hist[b])) << "bin " << b;
    if (s.count == 0) {
        EXPECT_TRUE(std::isnan(s.mean));
        return;
    }
    const auto& m = o.at(name + "_moments");
    expect_rel(s.mean, m.at(0), "mean");
    expect_rel(s.std, m.at(1), "std");
    EXPECT_NEAR(s.min, m.at(2), 1e-12);
    EXPECT_NEAR(s.max, m.at(3), 1e-12);
    // With few values the order statistics are sparse across bins and numpy's interpolated
    // quantile can lie outside the bin holding the histogram's; compare only with enough values.
    if (s.count < 100) return;
    const auto& q = o.at(name + "_quantiles");
    EXPECT_NEAR(s.q25, q.at(0), resolution);
    EXPECT_NEAR(s.q50, q.at(1), resolution);
    EXPECT_NEAR(s.q75, q.at(2), resolution);
}

class CosineOracle : public ::testing::TestWithParam<std::int64_t> {
  protected:
    void SetUp() override {
        if (!sp::test::python_has("numpy, sklearn"))
            GTEST_SKIP() << sp::test::python() << " lacks numpy/scikit-learn";
    }
};

TEST_P(CosineOracle, MatchesNumpyAndSklearn) {
    const std::int64_t n = GetParam();
    const Data data = make_data(n, 1000 + static_cast<std::uint64_t>(n));
    TempDir dir("cosine_oracle");
    sp::test::write_binary(dir.file("x.bin"), data.x);
    sp::test::write_binary(dir.file("labels.bin"), data.labels);
    const auto r =
        sp::test::run({sp::test::python(), sp::test::source_path("tests/oracle/cosine_oracle.py"),
                       dir.file("x.bin"), dir.file("labels.bin"), std::to_string(n),
                       std::to_string(kD), std::to_string(kK), std::to_string(kBins)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const OracleValues o = sp::test::parse_values(r.out);

    CosineOptions opt;
    opt.full_matrix = true;
    opt.chunk_rows = 128; // several chunks for the larger cases
    const CosineStats s = sp::cosine_statistics(data.x.data(), n, kD, data.labels.data(), kK, opt);
    EXPECT_EQ(s.bins, kBins);
    EXPECT_DOUBLE_EQ(s.quantile_resolution, 2.0 / kBins);
    EXPECT_TRUE(s.has_full);
    expect_set(s.all, o, "all", s.quantile_resolution);
    expect_set(s.within, o, "within", s.quantile_resolution);
    expect_set(s.between, o, "between", s.quantile_resolution);
    expect_set(s.full, o, "full", s.quantile_resolution);
    EXPECT_EQ(s.all.count, n * (n - 1) / 2);
    EXPECT_EQ(s.within.count + s.between.count, s.all.count);
    EXPECT_EQ(s.full.count, n * n);

    const auto& cm = o.at("class_means");
    ASSERT_EQ(s.class_means_cosine.size(), cm.size());
    for (std::size_t i = 0; i < cm.size(); ++i)
        EXPECT_NEAR(s.class_means_cosine[i], cm[i], 1e-12) << "class_means[" << i << "]";
}

INSTANTIATE_TEST_SUITE_P(Sizes, CosineOracle, ::testing::Values(2, 9, 37, 256, 601, 1500));

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_identical(const CosineSetStats& a, const CosineSetStats& b) {
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.histogram, b.histogram);
    for (auto [x, y] : {std::pair{a.mean, b.mean}, std::pair{a.std, b.std}, std::pair{a.min, b.min},
                        std::pair{a.max, b.max}, std::pair{a.q25, b.q25}, std::pair{a.q50, b.q50},
                        std::pair{a.q75, b.q75}})
        EXPECT_TRUE(same_bits(x, y)) << x << " vs " << y;
}

TEST(CosineDeterminism, ChunkSizeAndThreadsGiveIdenticalBits) {
    const std::int64_t n = 333;
    const Data data = make_data(n, 7);
    CosineOptions base;
    base.full_matrix = true;
    base.chunk_rows = 1024;
    base.threads = 1;
    const CosineStats ref =
        sp::cosine_statistics(data.x.data(), n, kD, data.labels.data(), kK, base);
    for (const std::int64_t chunk : {1, 7, 64, 333, 1024}) {
        for (const int threads : {1, 2}) {
            SCOPED_TRACE("chunk " + std::to_string(chunk) + " threads " + std::to_string(threads));
            CosineOptions opt = base;
            opt.chunk_rows = chunk;
            opt.threads = threads;
            const CosineStats s =
                sp::cosine_statistics(data.x.data(), n, kD, data.labels.data(), kK, opt);
            expect_identical(s.all, ref.all);
            expect_identical(s.within, ref.within);
            expect_identical(s.between, ref.between);
            expect_identical(s.full, ref.full);
            ASSERT_EQ(s.class_means_cosine.size(), ref.class_means_cosine.size());
            for (std::size_t i = 0; i < s.class_means_cosine.size(); ++i)
                EXPECT_TRUE(same_bits(s.class_means_cosine[i], ref.class_means_cosine[i]));
        }
    }
    // The unique-pair statistics do not depend on whether the N x N variant is computed.
    CosineOptions pairs_only = base;
    pairs_only.full_matrix = false;
    pairs_only.chunk_rows = 50;
    const CosineStats p =
        sp::cosine_statistics(data.x.data(), n, kD, data.labels.data(), kK, pairs_only);
    EXPECT_FALSE(p.has_full);
    expect_identical(p.all, ref.all);
    expect_identical(p.within, ref.within);
    expect_identical(p.between, ref.between);
}

// Mean and std in closed form (n > 512 and every set's std above 1e-3): Gram products and sums
// over LibTorch/BLAS, run on one thread so that 1, 2 and 3 threads give the same bits
// (cosine.hpp). d = 256 and ten classes, as in the quick sweep.
TEST(CosineDeterminism, ClosedFormThreadsGiveIdenticalBits) {
    const std::int64_t n = 1500;
    const std::int64_t d = 256;
    const std::int64_t k = 10;
    std::mt19937_64 rng(21);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::vector<float> centres(static_cast<std::size_t>(k * d));
    for (auto& c : centres) c = 0.3F * normal(rng) + 0.2F;
    std::vector<float> x(static_cast<std::size_t>(n * d));
    std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        labels[static_cast<std::size_t>(i)] = i % k;
        for (std::int64_t c = 0; c < d; ++c)
            x[static_cast<std::size_t>(i * d + c)] =
                centres[static_cast<std::size_t>((i % k) * d + c)] + normal(rng);
    }
    CosineOptions opt;
    opt.full_matrix = true;
    opt.threads = 1;
    const CosineStats ref = sp::cosine_statistics(x.data(), n, d, labels.data(), k, opt);
    for (const CosineSetStats* set : {&ref.all, &ref.within, &ref.between})
        ASSERT_GT(set->std, 1e-3) << "the data must take the closed form";
    for (const int threads : {2, 3}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        opt.threads = threads;
        const CosineStats s = sp::cosine_statistics(x.data(), n, d, labels.data(), k, opt);
        expect_identical(s.all, ref.all);
        expect_identical(s.within, ref.within);
        expect_identical(s.between, ref.between);
        expect_identical(s.full, ref.full);
        for (std::size_t i = 0; i < s.class_means_cosine.size(); ++i)
            EXPECT_TRUE(same_bits(s.class_means_cosine[i], ref.class_means_cosine[i]));
    }
}

TEST(CosineInput, RejectsBadLabelsAndOptions) {
    const Data data = make_data(10, 3);
    std::vector<std::int64_t> bad = data.labels;
    bad[4] = kK;
    EXPECT_THROW(sp::cosine_statistics(data.x.data(), 10, kD, bad.data(), kK), sp::DataError);
    bad[4] = -1;
    EXPECT_THROW(sp::cosine_statistics(data.x.data(), 10, kD, bad.data(), kK), sp::DataError);
    CosineOptions opt;
    opt.bins = 0;
    EXPECT_THROW(sp::cosine_statistics(data.x.data(), 10, kD, data.labels.data(), kK, opt),
                 sp::ConfigError);
    opt = {};
    opt.chunk_rows = -1;
    EXPECT_THROW(sp::cosine_statistics(data.x.data(), 10, kD, data.labels.data(), kK, opt),
                 sp::ConfigError);
}

TEST(CosineInput, ZeroRowsAndEmptySets) {
    // Two zero rows and one other: every cosine is 0 except the other row with itself.
    std::vector<float> x(3 * 2, 0.0F);
    x[4] = 3.0F;
    x[5] = 4.0F;
    const std::vector<std::int64_t> labels{0, 1, 2};
    CosineOptions opt;
    opt.full_matrix = true;
    const CosineStats s = sp::cosine_statistics(x.data(), 3, 2, labels.data(), 3, opt);
    EXPECT_EQ(s.all.count, 3);
    EXPECT_EQ(s.all.histogram[25], 3); // 0 falls in [0, 0.04)
    EXPECT_EQ(s.all.mean, 0.0);
    EXPECT_EQ(s.all.std, 0.0);
    EXPECT_EQ(s.within.count, 0);
    EXPECT_TRUE(std::isnan(s.within.mean));
    EXPECT_EQ(s.full.count, 9);
    EXPECT_EQ(s.full.histogram[49], 1);
    EXPECT_DOUBLE_EQ(s.full.max, 1.0);
    EXPECT_EQ(s.class_means_cosine[0], 0.0); // empty mean of class 0 is the zero vector
    EXPECT_DOUBLE_EQ(s.class_means_cosine[8], 1.0);
}

} // namespace
