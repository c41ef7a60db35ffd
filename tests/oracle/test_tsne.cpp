// metrics/tsne against scikit-learn 1.2 (Debian's /usr/bin/python3, tests/oracle/tsne_oracle.py):
// - the kNN distances and the affinities P (sklearn's _joint_probabilities_nn on sp's kNN graph);
// - the final KL of each method within 5% of sklearn's TSNE (barnes_hut and exact), and a map
//   that separates the clusters about as well as sklearn's (silhouette);
// - a stop signal abandons the map (StopRequested); sp::analyze records only UndefinedMetric as
//   an undefined metric and lets a bug inside t-SNE (InternalError) and a stop through;
// - the reported KL against an independent NumPy KL of the returned map;
// - bit-identical maps across thread counts and repeated runs; degenerate input as documented;
// - the sklearn compat mode: k and P as TSNE.fit computes them, and its stop iteration (n_iter_).
#include "sp/metrics/analyze.hpp"
#include "sp/metrics/tsne.hpp"
#include "sp/metrics/tsne_repulsion.hpp"
#include "sp/metrics/undefined.hpp"

#include "sp/util/error.hpp"
#include "sp/util/signals.hpp"
#include "support/oracle.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

using sp::test::python;
using sp::test::TempDir;

namespace {

bool have_sklearn() {
    static const bool have = sp::test::python_has("sklearn, scipy, numpy");
    return have;
}

using Data = sp::test::LabelledEmbeddings;

/// `classes` Gaussian blobs in d dimensions (centres N(0, spread^2 I), unit noise).
Data make_blobs(std::int64_t n, std::int64_t d, std::int64_t classes, float spread, unsigned seed) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::vector<float> centre(static_cast<std::size_t>(classes * d));
    for (auto& c : centre) c = spread * normal(gen);
    Data data;
    data.n = n;
    data.d = d;
    data.x.resize(static_cast<std::size_t>(n * d));
    data.labels.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t c = i % classes;
        data.labels[static_cast<std::size_t>(i)] = c;
        for (std::int64_t k = 0; k < d; ++k)
            data.x[static_cast<std::size_t>(i * d + k)] =
                centre[static_cast<std::size_t>(c * d + k)] + normal(gen);
    }
    return data;
}

/// The test data set: 5 clusters of 100 points in 20 dimensions.
const Data& blobs() {
    static const Data data = make_blobs(500, 20, 5, 2.0F, 7);
    return data;
}

class Writer {
  public:
    explicit Writer(const std::string& path) : f_(path, std::ios::binary) {}
    void i64(std::int64_t v) { raw(&v, sizeof v); }
    void f64(double v) { raw(&v, sizeof v); }
    template <class T> void vec(const std::vector<T>& v) { raw(v.data(), v.size() * sizeof(T)); }

  private:
    void raw(const void* p, std::size_t bytes) {
        f_.write(static_cast<const char*>(p), static_cast<std::streamsize>(bytes));
    }
    std::ofstream f_;
};

/// Runs tsne_oracle.py MODE on the file `write` fills; returns its float64 output.
template <class Fill>
std::vector<double> oracle(const std::string& mode, const TempDir& dir, Fill write) {
    const std::string in = dir.file(mode + "_in.bin");
    const std::string out = dir.file(mode + "_out.bin");
    {
        Writer w(in);
        write(w);
    }
    const auto r = sp::test::run(
        {python(), sp::test::source_path("tests/oracle/tsne_oracle.py"), mode, in, out});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string raw = r.exit_code == 0 ? sp::test::read_file(out) : std::string();
    std::vector<double> v(raw.size() / sizeof(double));
    std::memcpy(v.data(), raw.data(), v.size() * sizeof(double));
    return v;
}

sp::TsneOptions options(sp::TsneMethod method, int threads = 2) {
    sp::TsneOptions opt;
    opt.method = method;
    opt.threads = threads;
    return opt;
}

const char* name(sp::TsneMethod m) {
    switch (m) {
    case sp::TsneMethod::exact:
        return "exact";
    case sp::TsneMethod::barnes_hut:
        return "barnes_hut";
    case sp::TsneMethod::fft:
        return "fft";
    }
    return "?";
}

/// scikit-learn's KL (barnes_hut, exact) and map silhouettes on blobs(), computed once.
const std::vector<double>& sklearn_fit() {
    static const std::vector<double> v = [] {
        TempDir dir("tsne_fit");
        const Data& data = blobs();
        return oracle("fit", dir, [&](Writer& w) {
            w.i64(data.n);
            w.i64(data.d);
            w.vec(data.x);
            w.vec(data.labels);
        });
    }();
    return v;
}

/// [KL, silhouette] of map `y` under `p`, by NumPy.
std::vector<double> numpy_kl(const sp::TsneAffinities& p, const std::vector<float>& y,
                             const std::vector<std::int64_t>& labels) {
    TempDir dir("tsne_kl");
    return oracle("kl", dir, [&](Writer& w) {
        w.i64(p.n);
        w.i64(static_cast<std::int64_t>(p.columns.size()));
        w.vec(p.row_offsets);
        w.vec(p.columns);
        w.vec(p.values);
        w.vec(y);
        w.vec(labels);
    });
}

// ---- affinities -------------------------------------------------------------------------------

/// t-SNE of `data` with `opt` (its thread count the reference) and again at each of `threads`:
/// every map and KL divergence must equal the reference's bits.
void expect_same_bits_at(const Data& data, sp::TsneOptions opt,
                         std::initializer_list<int> threads) {
    const sp::TsneResult ref = sp::tsne(data.x.data(), data.n, data.d, opt);
    for (const int t : threads) {
        opt.threads = t;
        const sp::TsneResult r = sp::tsne(data.x.data(), data.n, data.d, opt);
        EXPECT_EQ(std::memcmp(r.embedding.data(), ref.embedding.data(),
                              ref.embedding.size() * sizeof(float)),
                  0)
            << t << " threads";
        EXPECT_EQ(r.kl_divergence, ref.kl_divergence) << t << " threads";
    }
}

/// scikit-learn's exact neighbour distances (n x k) and joint affinities (n x n) for `data` at
/// `perplexity`, given sp's neighbours `a` (tsne_oracle.py's "knn" mode).
std::vector<double> knn_oracle(const TempDir& dir, const Data& data, double perplexity,
                               const sp::TsneAffinities& a) {
    return oracle("knn", dir, [&](Writer& w) {
        w.i64(data.n);
        w.i64(data.d);
        w.i64(a.neighbours);
        w.vec(data.x);
        w.f64(perplexity);
        w.vec(a.knn_index);
        w.vec(a.knn_sqdist);
    });
}

TEST(Tsne, AffinitiesMatchScikitLearn) {
    if (!have_sklearn()) GTEST_SKIP() << python() << " lacks scikit-learn";
    const Data& data = blobs();
    const sp::TsneAffinities a = sp::tsne_affinities(data.x.data(), data.n, data.d, 30.0, 2);
    ASSERT_EQ(a.neighbours, 90);
    TempDir dir("tsne_knn");
    const std::vector<double> v = knn_oracle(dir, data, 30.0, a);
    const auto n = static_cast<std::size_t>(data.n);
    const auto k = static_cast<std::size_t>(a.neighbours);
    ASSERT_EQ(v.size(), n * k + n * n);
    // kNN: the same distances as sklearn's exact search (float32 storage: 1e-6 relative).
    double worst_d = 0.0;
    for (std::size_t t = 0; t < n * k; ++t) {
        const double err =
            std::abs(static_cast<double>(a.knn_sqdist[t]) - v[t]) / std::max(v[t], 1e-12);
        worst_d = std::max(worst_d, err);
    }
    EXPECT_LE(worst_d, 1e-6);
    // P: sklearn's on the same graph, entry by entry, and nothing outside the sparsity pattern.
    std::vector<double> dense(n * n, 0.0);
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        for (auto t = a.row_offsets[i]; t < a.row_offsets[i + 1]; ++t) {
            const auto j = static_cast<std::size_t>(a.columns[static_cast<std::size_t>(t)]);
            EXPECT_NE(j, i);
            dense[i * n + j] = a.values[static_cast<std::size_t>(t)];
            sum += a.values[static_cast<std::size_t>(t)];
        }
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);
    double worst_p = 0.0;
    for (std::size_t t = 0; t < n * n; ++t) {
        const double want = v[n * k + t];
        worst_p = std::max(worst_p, std::abs(dense[t] - want) / std::max(want, 1e-300));
        if (want == 0.0) {
            EXPECT_EQ(dense[t], 0.0) << "entry " << t;
        }
        if (dense[t] != 0.0) {
            EXPECT_EQ(dense[t], dense[(t % n) * n + t / n]) << "asymmetric";
        }
    }
    EXPECT_LE(worst_p, 1e-6);
    std::cout << "[ worst ] knn sqdist " << worst_d << ", P " << worst_p << " (relative)\n";
}

// ---- the sklearn compat mode -------------------------------------------------------------------

/// Dense n x n copy of `a`'s P.
std::vector<double> dense_p(const sp::TsneAffinities& a) {
    const auto n = static_cast<std::size_t>(a.n);
    std::vector<double> dense(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        for (auto t = a.row_offsets[i]; t < a.row_offsets[i + 1]; ++t)
            dense[i * n + static_cast<std::size_t>(a.columns[static_cast<std::size_t>(t)])] =
                a.values[static_cast<std::size_t>(t)];
    }
    return dense;
}

// Rule: k = min(n - 1, int(3 x perplexity + 1)) (scikit-learn 1.2.1, TSNE._fit), and P equals
// the P of scikit-learn's own pipeline (its kNN search, then _joint_probabilities_nn) on the same
// data. Perplexity 10.5 tells the two rules apart where 3p is not an integer (31 vs 32); 40
// points at perplexity 20 clamp to n - 1.
// The neighbour search over several row panels (2,100 rows: panels of 1,024 rows, products in
// tiles of 512 columns, each pair's distance offered to both rows) with exact ties (every 7th row
// a copy of the one before): the same k nearest distances as scikit-learn's brute-force search.
TEST(Tsne, NeighboursExactAcrossPanelsAndTies) {
    if (!have_sklearn()) GTEST_SKIP() << python() << " lacks scikit-learn";
    Data data = make_blobs(2100, 12, 6, 2.0F, 21);
    const auto d = static_cast<std::size_t>(data.d);
    for (std::size_t i = 7; i < static_cast<std::size_t>(data.n); i += 7)
        std::copy_n(data.x.begin() + static_cast<std::ptrdiff_t>((i - 1) * d), d,
                    data.x.begin() + static_cast<std::ptrdiff_t>(i * d));
    const sp::TsneAffinities a = sp::tsne_affinities(data.x.data(), data.n, data.d, 10.0, 2);
    ASSERT_EQ(a.neighbours, 30);
    TempDir dir("tsne_knn_panels");
    const std::vector<double> v = knn_oracle(dir, data, 10.0, a);
    const auto n = static_cast<std::size_t>(data.n);
    const auto k = static_cast<std::size_t>(a.neighbours);
    ASSERT_EQ(v.size(), n * k + n * n);
    double worst = 0.0;
    for (std::size_t t = 0; t < n * k; ++t) {
        const double err = std::abs(static_cast<double>(a.knn_sqdist[t]) - v[t]);
        worst = std::max(worst, err / (v[t] + 1e-3));
        // Rows ordered by distance; a duplicate's first neighbour is its twin, at distance 0.
        if (t % k > 0) {
            EXPECT_LE(a.knn_sqdist[t - 1], a.knn_sqdist[t]) << "row " << t / k;
        }
    }
    for (std::size_t i = 7; i < n; i += 7) {
        EXPECT_EQ(a.knn_sqdist[i * k], 0.0F) << "row " << i;
        EXPECT_EQ(a.knn_index[i * k], static_cast<std::int64_t>(i - 1)) << "row " << i;
    }
    EXPECT_LE(worst, 1e-6);
    std::cout << "[ worst ] knn sqdist over panels " << worst << " (relative)\n";
}

TEST(Tsne, SklearnModeNeighboursAndAffinitiesMatchTsneFit) {
    if (!have_sklearn()) GTEST_SKIP() << python() << " lacks scikit-learn";
    struct Case {
        const Data* data;
        double perplexity;
        std::int64_t k; // int(3 * perplexity + 1), clamped to n - 1
    };
    const Data small = make_blobs(40, 6, 2, 2.0F, 12);
    for (const Case& c : {Case{&blobs(), 30.0, 91}, Case{&blobs(), 10.5, 32},
                          Case{&blobs(), 5.0, 16}, Case{&small, 20.0, 39}}) {
        SCOPED_TRACE("n " + std::to_string(c.data->n) + ", perplexity " +
                     std::to_string(c.perplexity));
        const Data& data = *c.data;
        const sp::TsneAffinities a = sp::tsne_affinities(data.x.data(), data.n, data.d,
                                                         c.perplexity, 2, sp::TsneCompat::sklearn);
        EXPECT_EQ(a.neighbours, c.k);
        EXPECT_EQ(sp::tsne_neighbours(c.perplexity, data.n, sp::TsneCompat::sklearn), c.k);
        TempDir dir("tsne_sklp");
        const std::vector<double> v = oracle("sklp", dir, [&](Writer& w) {
            w.i64(data.n);
            w.i64(data.d);
            w.vec(data.x);
            w.f64(c.perplexity);
        });
        const auto n = static_cast<std::size_t>(data.n);
        ASSERT_EQ(v.size(), 1 + n * n);
        EXPECT_EQ(v[0], static_cast<double>(c.k)) << "TSNE.fit's neighbour count";
        const std::vector<double> mine = dense_p(a);
        double worst = 0.0;
        for (std::size_t t = 0; t < n * n; ++t) {
            const double want = v[1 + t];
            EXPECT_EQ(mine[t] == 0.0, want == 0.0) << "entry " << t << " outside one pattern";
            if (want != 0.0) worst = std::max(worst, std::abs(mine[t] - want) / want);
        }
        // Distances reach float32 by different roundings (sklearn: sqrt of a float64 GEMM-trick
        // distance, squared again): a last-bit difference moves P_ij by ~1e-7 relative.
        EXPECT_LE(worst, 1e-6);
        std::cout << "[ sklp  ] n " << n << ", perplexity " << c.perplexity << ": k "
                  << a.neighbours << ", worst P relative error " << worst << '\n';
    }
}

// Rule: the sklearn mode stops where TSNE.fit does (n_iter_ = iterations run - 1): checks every
// 50 iterations, an exaggeration stage stopped early hands over at the next iteration, and the
// defaults (min_grad_norm 1e-7, n_iter_without_progress 300) run all 1000 iterations here.
TEST(Tsne, SklearnModeStopsWhereScikitLearnStops) {
    if (!have_sklearn()) GTEST_SKIP() << python() << " lacks scikit-learn";
    const Data& data = blobs();
    struct Case {
        double min_grad_norm;
        std::int64_t patience;
        std::int64_t exaggerated; // iterations with exaggeration
    };
    // min_grad_norm 10 exceeds every gradient norm: both stages stop at their first check.
    // 0.09 and 0.005 lie between sklearn's norms at consecutive checks (0.126 / 0.064 at 50 /
    // 100; 0.0063 / 0.0036 at 400 / 450): a norm off by its factor 4 or its gains would stop
    // elsewhere.
    const std::vector<Case> cases = {
        {1e-7, 300, 250}, {10.0, 300, 50}, {0.09, 300, 100}, {0.005, 300, 250}};
    TempDir dir("tsne_stop");
    const std::vector<double> v = oracle("stop", dir, [&](Writer& w) {
        w.i64(data.n);
        w.i64(data.d);
        w.vec(data.x);
        w.f64(30.0);
        w.i64(static_cast<std::int64_t>(cases.size()));
        for (const Case& c : cases) {
            w.f64(c.min_grad_norm);
            w.i64(c.patience);
        }
    });
    ASSERT_EQ(v.size(), cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE("min_grad_norm " + std::to_string(cases[i].min_grad_norm));
        sp::TsneOptions opt = options(sp::TsneMethod::barnes_hut);
        opt.compat = sp::TsneCompat::sklearn;
        opt.min_grad_norm = cases[i].min_grad_norm;
        opt.iterations_without_progress = cases[i].patience;
        const sp::TsneResult r = sp::tsne(data.x.data(), data.n, data.d, opt);
        EXPECT_EQ(static_cast<double>(r.iterations - 1), v[i]) << "sklearn's n_iter_";
        EXPECT_EQ(r.exaggeration_iterations, cases[i].exaggerated);
        EXPECT_EQ(r.neighbours, 91);
        std::cout << "[ stop  ] min_grad_norm " << cases[i].min_grad_norm << ": sp ran "
                  << r.iterations << ", sklearn n_iter_ " << v[i] << '\n';
    }
}

// The sp mode is unchanged by the compat options: they only act in the sklearn mode.
TEST(Tsne, SpModeIgnoresSklearnStoppingOptions) {
    const Data data = make_blobs(200, 8, 3, 2.0F, 6);
    sp::TsneOptions opt = options(sp::TsneMethod::barnes_hut);
    opt.iterations = 300;
    const sp::TsneResult ref = sp::tsne(data.x.data(), data.n, data.d, opt);
    opt.min_grad_norm = 10.0;
    opt.iterations_without_progress = 0;
    const sp::TsneResult r = sp::tsne(data.x.data(), data.n, data.d, opt);
    EXPECT_EQ(r.iterations, 300);
    EXPECT_EQ(r.neighbours, 90);
    EXPECT_EQ(r.embedding, ref.embedding);
}

// ---- KL and separation against scikit-learn --------------------------------------------------

class TsneMethods : public ::testing::TestWithParam<sp::TsneMethod> {};

TEST_P(TsneMethods, KlWithinFivePercentOfScikitLearn) {
    if (!have_sklearn()) GTEST_SKIP() << python() << " lacks scikit-learn";
    const Data& data = blobs();
    const sp::TsneResult r = sp::tsne(data.x.data(), data.n, data.d, options(GetParam()));
    const std::vector<double>& ref = sklearn_fit();
    ASSERT_EQ(ref.size(), 4U);
    EXPECT_EQ(r.neighbours, 90);
    EXPECT_EQ(r.iterations, 1000);
    EXPECT_DOUBLE_EQ(r.learning_rate, 200.0); // max(500 / 12, 200): sklearn's auto, 50, x 4
    ASSERT_EQ(r.embedding.size(), 2U * static_cast<std::size_t>(data.n));
    const double kl_bh = ref[0];
    const double kl_exact = ref[1];
    EXPECT_LE(std::abs(r.kl_divergence - kl_bh), 0.05 * kl_bh) << "vs barnes_hut " << kl_bh;
    EXPECT_LE(std::abs(r.kl_divergence - kl_exact), 0.05 * kl_exact) << "vs exact " << kl_exact;

    // The reported KL is the exact KL of the returned map (independent NumPy computation).
    const sp::TsneAffinities p = sp::tsne_affinities(data.x.data(), data.n, data.d, 30.0, 1);
    const std::vector<double> mine = numpy_kl(p, r.embedding, data.labels);
    ASSERT_EQ(mine.size(), 2U);
    EXPECT_LE(std::abs(r.kl_divergence - mine[0]), 1e-6 * mine[0]);
    EXPECT_NEAR(sp::tsne_kl_divergence(p, r.embedding.data(), 2), r.kl_divergence,
                1e-12 * r.kl_divergence);
    // Well-separated clusters stay separated, about as well as in sklearn's maps.
    const double sil_sklearn = std::min(ref[2], ref[3]);
    EXPECT_GE(mine[1], 0.5);
    EXPECT_GE(mine[1], sil_sklearn - 0.1);
    std::cout << "[ kl    ] " << name(GetParam()) << ": sp " << r.kl_divergence
              << ", sklearn barnes_hut " << kl_bh << ", exact " << kl_exact << "; silhouette sp "
              << mine[1] << ", sklearn " << ref[2] << " / " << ref[3] << '\n';
}

INSTANTIATE_TEST_SUITE_P(Tsne, TsneMethods,
                         ::testing::Values(sp::TsneMethod::exact, sp::TsneMethod::barnes_hut,
                                           sp::TsneMethod::fft),
                         [](const ::testing::TestParamInfo<sp::TsneMethod>& method) {
                             return std::string(name(method.param));
                         });

// The FFT interpolation itself (never replaced by the exact sum here) against the exact sum, on
// a map as wide as a late-stage one: Z within 1e-3, forces within 10% of the largest force.
TEST(Tsne, FftRepulsionMatchesExact) {
    std::mt19937_64 gen(11);
    std::normal_distribution<double> normal(0.0, 1.0);
    const std::int64_t n = 3000;
    std::vector<double> y(2 * static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < y.size(); ++i)
        y[i] = 4.0 * normal(gen) + (i % 6 < 2 ? 15.0 : (i % 6 < 4 ? -10.0 : 0.0));
    std::vector<double> exact(y.size());
    std::vector<double> fft(y.size());
    const double z_exact = sp::tsne_detail::repulsion_exact(y.data(), n, exact.data());
    sp::tsne_detail::FftRepulsion interp(/*exact_when_cheaper=*/false);
    const double z_fft = interp(y.data(), n, fft.data());
    EXPECT_LE(std::abs(z_fft - z_exact), 1e-3 * z_exact);
    double fmax = 0.0;
    double worst = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        fmax = std::max(fmax, std::abs(exact[i]));
        worst = std::max(worst, std::abs(fft[i] - exact[i]));
    }
    EXPECT_LE(worst, 0.1 * fmax); // near-field interpolation error of a 3-node box
    std::cout << "[ fft   ] Z relative error " << std::abs(z_fft - z_exact) / z_exact
              << ", worst force error / largest force " << worst / fmax << '\n';
}

// ---- determinism ------------------------------------------------------------------------------

TEST(Tsne, BitIdenticalAcrossThreadsAndRuns) {
    const Data data = make_blobs(300, 16, 4, 2.0F, 3);
    for (const auto method :
         {sp::TsneMethod::exact, sp::TsneMethod::barnes_hut, sp::TsneMethod::fft}) {
        for (const auto init : {sp::TsneInit::pca, sp::TsneInit::random}) {
            for (const auto compat : {sp::TsneCompat::sp, sp::TsneCompat::sklearn}) {
                SCOPED_TRACE(name(method));
                sp::TsneOptions opt = options(method, 1);
                opt.init = init;
                opt.compat = compat;
                opt.iterations = 200;
                opt.exaggeration_iterations = 60;
                expect_same_bits_at(data, opt, {1, 2, 3});
            }
        }
    }
}

// n = 2,500: past the 1,024-row grain of the FFT interpolation's parallel loops and the
// nearest-neighbour search's 1,024-row product blocks (three of them), so every split that
// depends on the thread count is taken.
TEST(Tsne, BitIdenticalAcrossThreadsAtSizeReachingEverySplit) {
    const Data data = make_blobs(2500, 24, 5, 2.0F, 8);
    for (const auto method : {sp::TsneMethod::barnes_hut, sp::TsneMethod::fft}) {
        SCOPED_TRACE(name(method));
        sp::TsneOptions opt = options(method, 1);
        opt.iterations = 120;
        opt.exaggeration_iterations = 60;
        expect_same_bits_at(data, opt, {2, 3});
    }
}

TEST(Tsne, SeedChangesRandomInitOnly) {
    const Data data = make_blobs(120, 8, 3, 2.0F, 5);
    sp::TsneOptions opt = options(sp::TsneMethod::barnes_hut);
    opt.iterations = 50;
    opt.exaggeration_iterations = 25;
    const auto pca0 = sp::tsne(data.x.data(), data.n, data.d, opt);
    opt.seed = 9;
    const auto pca9 = sp::tsne(data.x.data(), data.n, data.d, opt);
    EXPECT_EQ(pca0.embedding, pca9.embedding);
    opt.init = sp::TsneInit::random;
    const auto rnd9 = sp::tsne(data.x.data(), data.n, data.d, opt);
    opt.seed = 10;
    const auto rnd10 = sp::tsne(data.x.data(), data.n, data.d, opt);
    EXPECT_NE(rnd9.embedding, rnd10.embedding);
}

// ---- options and degenerate input -------------------------------------------------------------

bool all_finite(const sp::TsneResult& r) {
    return std::isfinite(r.kl_divergence) && std::all_of(r.embedding.begin(), r.embedding.end(),
                                                         [](float v) { return std::isfinite(v); });
}

TEST(Tsne, RejectsBadDataAndOptions) {
    const Data data = make_blobs(40, 4, 2, 2.0F, 1);
    const float* x = data.x.data();
    EXPECT_THROW(sp::tsne(x, 1, 4), sp::UndefinedMetric);
    EXPECT_THROW(sp::tsne(x, 0, 4), sp::UndefinedMetric);
    EXPECT_THROW(sp::tsne(x, 40, 0), sp::DataError);
    EXPECT_THROW(sp::tsne(nullptr, 40, 4), sp::DataError);
    std::vector<float> bad = data.x;
    bad[17] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(sp::tsne(bad.data(), 40, 4), sp::DataError);
    bad[17] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(sp::tsne_affinities(bad.data(), 40, 4), sp::DataError);
    bad[17] = 1e19F; // squared distances would overflow float32
    EXPECT_THROW(sp::tsne(bad.data(), 40, 4), sp::UndefinedMetric);

    auto with = [](auto set) {
        sp::TsneOptions o;
        o.perplexity = 5.0;
        set(o);
        return o;
    };
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.perplexity = 40.0; })),
                 sp::UndefinedMetric); // perplexity >= n, as scikit-learn
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.perplexity = 0.0; })), sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.dims = 3; })), sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.iterations = -1; })), sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.exaggeration_iterations = 2000; })),
                 sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.early_exaggeration = 0.0; })),
                 sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.learning_rate = -1.0; })),
                 sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.theta = -0.5; })), sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.threads = -1; })), sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.min_grad_norm = -1.0; })),
                 sp::ConfigError);
    EXPECT_THROW(sp::tsne(x, 40, 4, with([](auto& o) { o.iterations_without_progress = -1; })),
                 sp::ConfigError);
}

TEST(Tsne, SmallInputClampsNeighbours) {
    // 3 * perplexity > n - 1: k = n - 1, every other point is a neighbour.
    const Data data = make_blobs(12, 3, 2, 2.0F, 2);
    sp::TsneOptions opt;
    opt.perplexity = 10.0;
    for (const auto method :
         {sp::TsneMethod::exact, sp::TsneMethod::barnes_hut, sp::TsneMethod::fft}) {
        opt.method = method;
        const auto r = sp::tsne(data.x.data(), data.n, data.d, opt);
        EXPECT_EQ(r.neighbours, 11);
        EXPECT_TRUE(all_finite(r)) << name(method);
    }
    const auto two = sp::tsne(data.x.data(), 2, data.d, [] {
        sp::TsneOptions o;
        o.perplexity = 1.0;
        return o;
    }());
    EXPECT_EQ(two.neighbours, 1);
    EXPECT_TRUE(all_finite(two));
}

TEST(Tsne, DuplicatesShareAPosition) {
    Data data = make_blobs(200, 6, 2, 3.0F, 4);
    // Rows 1..4 copy row 0; row 5 is the zero vector.
    for (std::int64_t r = 1; r <= 4; ++r) std::copy_n(data.x.begin(), 6, data.x.begin() + r * 6);
    std::fill_n(data.x.begin() + 30, 6, 0.0F);
    for (const auto method :
         {sp::TsneMethod::exact, sp::TsneMethod::barnes_hut, sp::TsneMethod::fft}) {
        SCOPED_TRACE(name(method));
        const auto r = sp::tsne(data.x.data(), data.n, data.d, options(method));
        ASSERT_TRUE(all_finite(r));
        for (std::size_t row = 1; row <= 4; ++row) {
            EXPECT_EQ(r.embedding[2 * row], r.embedding[0]);
            EXPECT_EQ(r.embedding[2 * row + 1], r.embedding[1]);
        }
    }
}

TEST(Tsne, IdenticalPointsSpreadFromNoise) {
    const std::vector<float> x(60 * 5, 1.5F);
    for (const auto method :
         {sp::TsneMethod::exact, sp::TsneMethod::barnes_hut, sp::TsneMethod::fft}) {
        SCOPED_TRACE(name(method));
        sp::TsneOptions opt = options(method);
        opt.perplexity = 10.0;
        const auto r = sp::tsne(x.data(), 60, 5, opt);
        ASSERT_TRUE(all_finite(r));
        EXPECT_NE(r.embedding[0], r.embedding[2]); // noise init, not one point
        // All distances 0: each row's search gives up at uniform p_j|i = 1 / k.
        const sp::TsneAffinities p = sp::tsne_affinities(x.data(), 60, 5, 10.0);
        double sum = 0.0;
        for (const double v : p.values) sum += v;
        EXPECT_NEAR(sum, 1.0, 1e-12);
        for (const double v : p.values) {
            EXPECT_GT(v, 0.0);
            EXPECT_LE(v, (1.0 + 1e-12) / (60.0 * 30.0));
        }
    }
}

} // namespace

namespace {

/// Clears the test stop flag and the failure hook however a test ends.
struct ResetHooks {
    ResetHooks() = default;
    ResetHooks(const ResetHooks&) = delete;
    ResetHooks& operator=(const ResetHooks&) = delete;
    ~ResetHooks() {
        sp::set_stop_requested_for_testing(0);
        sp::detail::fail_tsne_for_testing(false);
    }
};

sp::MetricsConfig small_metrics(double perplexity) {
    sp::MetricsConfig cfg;
    cfg.tsne.perplexity = perplexity;
    cfg.tsne.iterations = 251; // the least metrics.tsne.iterations allows
    return cfg;
}

} // namespace

TEST(Tsne, StopRequestThrowsStopRequested) {
    const ResetHooks reset;
    const Data data = make_blobs(120, 8, 3, 2.0F, 21);
    sp::TsneOptions o;
    o.perplexity = 10.0;
    o.iterations = 40;
    o.exaggeration_iterations = 20;
    for (auto method : {sp::TsneMethod::exact, sp::TsneMethod::barnes_hut, sp::TsneMethod::fft}) {
        o.method = method;
        sp::set_stop_requested_for_testing(SIGUSR1);
        EXPECT_THROW(sp::tsne(data.x.data(), data.n, data.d, o), sp::StopRequested);
        EXPECT_THROW(sp::tsne_affinities(data.x.data(), data.n, data.d, 10.0), sp::StopRequested);
        sp::set_stop_requested_for_testing(0);
        EXPECT_TRUE(all_finite(sp::tsne(data.x.data(), data.n, data.d, o)));
    }
}

TEST(Tsne, AnalyzeRecordsUndefinedMapAndGoesOn) {
    const Data data = make_blobs(20, 4, 2, 3.0F, 22);
    const sp::AnalysisInput in = sp::analysis_input(data.n, data.d, 2, data.x, data.labels, {}, 0);
    // perplexity 30 >= n = 20: scikit-learn refuses; the map and its space are undefined.
    const sp::Analysis a = sp::analyze(in, small_metrics(30.0), 1, 1);
    EXPECT_FALSE(a.tsne.has_value());
    EXPECT_TRUE(std::isnan(a.scalars.at("tsne_kl_divergence")));
    EXPECT_NE(a.undefined.at("tsne_kl_divergence").find("perplexity"), std::string::npos)
        << a.undefined.at("tsne_kl_divergence");
    EXPECT_TRUE(std::isnan(a.scalars.at("silhouette_euclidean_tsne")));
    EXPECT_TRUE(std::isfinite(a.scalars.at("silhouette_euclidean_raw")));
    // One class present: the silhouettes and Davies-Bouldin are undefined, not a failure.
    const std::vector<std::int64_t> one(static_cast<std::size_t>(data.n), 1);
    const sp::AnalysisInput in1 = sp::analysis_input(data.n, data.d, 2, data.x, one, {}, 0);
    const sp::Analysis b = sp::analyze(in1, small_metrics(5.0), 1, 1);
    for (const char* m : {"silhouette_euclidean_raw", "silhouette_cosine_raw", "davies_bouldin_raw",
                          "silhouette_euclidean_tsne"}) {
        EXPECT_TRUE(std::isnan(b.scalars.at(m))) << m;
        EXPECT_NE(b.undefined.at(m).find("classes present"), std::string::npos) << m;
    }
    EXPECT_TRUE(b.tsne.has_value());
}

// A bug inside t-SNE (an SP_CHECK failing, injected by the test hook) fails the analysis instead
// of being recorded as an undefined map; so does a stop request (StopRequested).
TEST(Tsne, AnalyzeLetsInternalErrorAndStopThrough) {
    const ResetHooks reset;
    const Data data = make_blobs(60, 4, 2, 3.0F, 23);
    const sp::AnalysisInput in = sp::analysis_input(data.n, data.d, 2, data.x, data.labels, {}, 0);
    sp::detail::fail_tsne_for_testing(true);
    EXPECT_THROW(sp::tsne(data.x.data(), data.n, data.d), sp::InternalError);
    EXPECT_THROW(sp::analyze(in, small_metrics(5.0), 1, 1), sp::InternalError);
    sp::detail::fail_tsne_for_testing(false);
    const sp::Analysis a = sp::analyze(in, small_metrics(5.0), 1, 1);
    EXPECT_TRUE(a.tsne.has_value());
    EXPECT_EQ(a.undefined.count("tsne_kl_divergence"), 0U);

    sp::set_stop_requested_for_testing(SIGUSR1);
    EXPECT_THROW(sp::analyze(in, small_metrics(5.0), 1, 1), sp::StopRequested);
    EXPECT_THROW(sp::tsne(data.x.data(), data.n, data.d), sp::StopRequested);
}
