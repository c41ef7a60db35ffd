// al/strategies against NumPy (tests/oracle/al_strategies_oracle.py, run with Debian's
// /usr/bin/python3): random softmax probabilities and embeddings are written to files and the
// oracle recomputes every strategy from its definition, in float64: the four uncertainty scores
// (within 1e-12) and their top-k with numpy.lexsort's tie rule; the core-set greedy k-center by
// brute force over full distance matrices; BADGE on the materialised gradient embeddings with the
// same k-means++ draw and a Python SplitMix64; the random draw with the same shuffle. Picks must
// be identical.
//
// The data carry ties on purpose: duplicated rows, rows of equal probabilities (uniform, one-hot,
// two halves), pool rows equal to labelled rows, so the lower-index rule is exercised. Separate
// tests check bad input (DataError) and that every result is bit-identical for 1 and 2 threads.
//
// Also here: al.pool_subset's candidates (select_pool_subset) against the same Python shuffle,
// with their properties and a distribution check; the core-set's float-screened greedy against
// the exact double greedy (detail::coreset_greedy_direct) on adversarial near-ties, bit for
// bit; pool_outputs()' MC-dropout probabilities (trunk once, head per pass) against passes of
// the whole model->forward(), bit for bit, and its stop check.
#include "sp/al/query.hpp"
#include "sp/al/strategies.hpp"
#include "sp/data/batches.hpp"
#include "sp/model/resnet.hpp"
#include "sp/train/extract.hpp"
#include "sp/util/error.hpp"
#include "sp/util/signals.hpp"

#include "support/oracle.hpp"
#include "support/temp_dir.hpp"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

using sp::test::field;
using sp::test::OracleValues;
using sp::test::TempDir;

namespace {

std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

/// n x k softmax probabilities of normal logits at a random temperature per row (so some rows
/// are confident, some flat). Ties: row 5 duplicates row 0, row 9 row 3; rows 11 and 12 are
/// uniform; rows 13 and 14 one-hot on different classes; rows 15 and 16 two halves on different
/// classes.
std::vector<float> make_probs(std::int64_t n, std::int64_t k, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> temp(0.2, 4.0);
    std::vector<float> p(at(n * k));
    for (std::int64_t i = 0; i < n; ++i) {
        const double scale = temp(rng);
        std::vector<double> z(at(k));
        double zmax = -std::numeric_limits<double>::infinity();
        for (auto& v : z) {
            v = scale * normal(rng);
            zmax = std::max(zmax, v);
        }
        double sum = 0.0;
        for (auto& v : z) sum += (v = std::exp(v - zmax));
        for (std::int64_t c = 0; c < k; ++c) p[at(i * k + c)] = static_cast<float>(z[at(c)] / sum);
    }
    auto row = [&](std::int64_t i) { return p.begin() + i * k; };
    if (n > 16 && k >= 3) {
        std::copy(row(0), row(1), row(5));
        std::copy(row(3), row(4), row(9));
        for (const std::int64_t i : {11, 12, 13, 14, 15, 16}) std::fill(row(i), row(i + 1), 0.0F);
        std::fill(row(11), row(13), 1.0F / static_cast<float>(k));
        p[at(13 * k + 0)] = 1.0F;
        p[at(14 * k + 2)] = 1.0F;
        p[at(15 * k + 0)] = p[at(15 * k + 1)] = 0.5F;
        p[at(16 * k + 1)] = p[at(16 * k + 2)] = 0.5F;
    }
    return p;
}

/// n x d normal embeddings; row 5 duplicates row 0 and row 9 row 3 (when n > 9).
std::vector<float> make_emb(std::int64_t n, std::int64_t d, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::vector<float> x(at(n * d));
    for (auto& v : x) v = normal(rng);
    if (n > 9) {
        std::copy(x.begin(), x.begin() + d, x.begin() + 5 * d);
        std::copy(x.begin() + 3 * d, x.begin() + 4 * d, x.begin() + 9 * d);
    }
    return x;
}

template <typename T>
std::string write_binary(const TempDir& dir, const std::string& name, const std::vector<T>& v) {
    const std::string path = dir.file(name);
    sp::test::write_binary(path, v);
    return path;
}

/// Runs the oracle once for all `jobs` and parses its `JOB:name v1 v2 ...` lines.
std::vector<OracleValues> oracle(const std::vector<std::vector<std::string>>& jobs) {
    return sp::test::run_oracle_jobs("tests/oracle/al_strategies_oracle.py", jobs);
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol,
                  const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (std::isinf(want[i])) {
            EXPECT_EQ(got[i], want[i]) << what << "[" << i << "]";
        } else {
            EXPECT_LE(std::abs(got[i] - want[i]), tol * (1.0 + std::abs(want[i])))
                << what << "[" << i << "]: sp " << got[i] << " oracle " << want[i];
        }
    }
}

void expect_picks(const std::vector<std::int64_t>& got, const std::vector<double>& want,
                  const std::string& what) {
    std::vector<std::int64_t> w;
    for (const double v : want) w.push_back(static_cast<std::int64_t>(v));
    EXPECT_EQ(got, w) << what;
}

std::string str(std::int64_t v) { return std::to_string(v); }

// --- Uncertainty scores and top-k: NumPy's values within 1e-12, lexsort's picks exactly. ---

TEST(AlScoresOracle, UncertaintyScoresAndTopK) {
    const TempDir dir("al");
    const std::int64_t n = 300;
    const std::int64_t k = 10;
    const std::int64_t count = 60;
    const auto probs = make_probs(n, k, 11);
    const std::int64_t t = 8;
    std::vector<float> mc;
    for (std::int64_t s = 0; s < t; ++s) {
        const auto pass = make_probs(n, k, 100 + static_cast<std::uint64_t>(s));
        mc.insert(mc.end(), pass.begin(), pass.end());
    }
    // Row 20 agrees across passes (BALD about 0); row 21 equal to row 20 in every pass (a tie).
    for (std::int64_t s = 0; s < t; ++s) {
        for (std::int64_t c = 0; c < k; ++c) {
            mc[at(s * n * k + 20 * k + c)] = probs[at(c)];
            mc[at(s * n * k + 21 * k + c)] = probs[at(c)];
        }
    }
    const auto o =
        oracle({{"scores", write_binary(dir, "p.bin", probs), str(n), str(k), str(count)},
                {"bald", write_binary(dir, "mc.bin", mc), str(t), str(n), str(k), str(count)}});
    ASSERT_EQ(o.size(), 2U);
    const std::vector<std::pair<std::string, std::vector<double>>> cases{
        {"least_confidence", sp::least_confidence_scores(probs.data(), n, k)},
        {"margin", sp::margin_scores(probs.data(), n, k)},
        {"entropy", sp::entropy_scores(probs.data(), n, k)}};
    for (const auto& [name, scores] : cases) {
        expect_close(scores, field(o[0], name), 1e-12, name);
        expect_picks(sp::top_k(scores, count), field(o[0], name + "_top"), name + " top-k");
    }
    const auto b = sp::bald_scores(mc.data(), t, n, k);
    expect_close(b, field(o[1], "bald"), 1e-12, "bald");
    expect_picks(sp::top_k(b, count), field(o[1], "bald_top"), "bald top-k");
}

TEST(AlScoresOracle, TopKTiesGoToTheLowerIndex) {
    const std::vector<double> s{0.5, 0.9, 0.5, 0.9, 0.1, 0.5};
    EXPECT_EQ(sp::top_k(s, 4), (std::vector<std::int64_t>{1, 3, 0, 2}));
    EXPECT_EQ(sp::top_k(s, 6), (std::vector<std::int64_t>{1, 3, 0, 2, 5, 4}));
    EXPECT_TRUE(sp::top_k(s, 0).empty());
}

TEST(AlScoresOracle, DocumentedValues) {
    const std::vector<float> p{0.25F, 0.25F, 0.5F, 0.0F, /**/ 0.5F, 0.5F, 0.0F, 0.0F};
    EXPECT_EQ(sp::least_confidence_scores(p.data(), 2, 4), (std::vector<double>{0.5, 0.5}));
    EXPECT_EQ(sp::margin_scores(p.data(), 2, 4), (std::vector<double>{-0.25, 0.0}));
    const auto h = sp::entropy_scores(p.data(), 2, 4);
    EXPECT_DOUBLE_EQ(h[0], 1.5 * std::log(2.0));
    EXPECT_DOUBLE_EQ(h[1], std::log(2.0));
    // Two passes that disagree completely: H[mean] = log 2, mean H = 0.
    const std::vector<float> mc{1.0F, 0.0F, /**/ 0.0F, 1.0F};
    EXPECT_DOUBLE_EQ(sp::bald_scores(mc.data(), 2, 1, 2)[0], std::log(2.0));
}

// --- Core-set: a brute-force k-center greedy over full distance matrices. ---

TEST(AlCoresetOracle, MatchesBruteForceGreedy) {
    const TempDir dir("al");
    const std::int64_t d = 16;
    const std::int64_t n_lab = 50;
    auto lab = make_emb(n_lab, d, 21);
    auto pool = make_emb(200, d, 22);
    // Pool rows 7 and 8 equal labelled row 3 (distance 0, tied).
    std::copy(lab.begin() + 3 * d, lab.begin() + 4 * d, pool.begin() + 7 * d);
    std::copy(lab.begin() + 3 * d, lab.begin() + 4 * d, pool.begin() + 8 * d);
    const auto pool_path = write_binary(dir, "pool.bin", pool);
    const auto lab_path = write_binary(dir, "lab.bin", lab);
    const auto small = make_emb(30, d, 23);
    const auto small_path = write_binary(dir, "small.bin", small);
    struct Case {
        const std::vector<float>* x;
        std::string path;
        std::int64_t n;
        std::int64_t n_lab;
        std::int64_t count;
    };
    const std::vector<Case> cases{
        {&pool, pool_path, 200, n_lab, 40},  // the usual round
        {&pool, pool_path, 200, 0, 25},      // no labelled rows: first pick row 0 at +inf
        {&small, small_path, 30, n_lab, 30}, // the whole pool, duplicates last
    };
    std::vector<std::vector<std::string>> jobs;
    for (const auto& c : cases) {
        jobs.push_back({"coreset", c.path, str(c.n), lab_path, str(c.n_lab), str(d), str(c.count)});
    }
    const auto o = oracle(jobs);
    ASSERT_EQ(o.size(), cases.size());
    for (std::size_t j = 0; j < cases.size(); ++j) {
        SCOPED_TRACE("case " + std::to_string(j));
        const auto& c = cases[j];
        std::vector<double> dist;
        const auto picks =
            sp::coreset_greedy(c.x->data(), c.n, lab.data(), c.n_lab, d, c.count, &dist);
        expect_picks(picks, field(o[j], "picks"), "core-set picks");
        expect_close(dist, field(o[j], "distances"), 1e-12, "core-set distances");
        EXPECT_EQ(sp::coreset_greedy(c.x->data(), c.n, lab.data(), c.n_lab, d, c.count), picks);
    }
}

// --- BADGE: materialised gradient embeddings, the same k-means++ draw in Python. ---

TEST(AlBadgeOracle, MatchesMaterialisedKMeansPlusPlus) {
    const TempDir dir("al");
    const std::int64_t n = 200;
    const std::int64_t k = 10;
    const std::int64_t d = 12;
    const auto probs = make_probs(n, k, 31);
    const auto emb = make_emb(n, d, 32);
    const auto p_path = write_binary(dir, "p.bin", probs);
    const auto e_path = write_binary(dir, "e.bin", emb);
    const std::int64_t small_n = 24;
    const std::vector<float> small_p(probs.begin(), probs.begin() + small_n * k);
    const std::vector<float> small_e(emb.begin(), emb.begin() + small_n * d);
    const auto sp_path = write_binary(dir, "sp.bin", small_p);
    const auto se_path = write_binary(dir, "se.bin", small_e);
    struct Case {
        std::int64_t n;
        std::int64_t count;
        std::uint64_t seed;
    };
    // The last case takes the whole small pool: after the distinct rows only exact duplicates
    // (distance 0) remain, which the lowest-unpicked rule takes.
    const std::vector<Case> cases{
        {n, 30, 1}, {n, 30, 0xDEADBEEFCAFEF00DULL}, {small_n, small_n, 7}};
    std::vector<std::vector<std::string>> jobs;
    for (const auto& c : cases) {
        const bool small = c.n == small_n;
        jobs.push_back({"badge", small ? sp_path : p_path, small ? se_path : e_path, str(c.n),
                        str(k), str(d), str(c.count), std::to_string(c.seed)});
    }
    const auto o = oracle(jobs);
    ASSERT_EQ(o.size(), cases.size());
    for (std::size_t j = 0; j < cases.size(); ++j) {
        SCOPED_TRACE("case " + std::to_string(j));
        const auto& c = cases[j];
        const auto picks = sp::badge_select(probs.data(), emb.data(), c.n, k, d, c.count, c.seed);
        expect_picks(picks, field(o[j], "picks"), "BADGE picks");
    }
}

// --- Random: the same partial Fisher-Yates shuffle with a Python SplitMix64. ---

TEST(AlRandomOracle, MatchesPythonShuffle) {
    const std::vector<std::vector<std::int64_t>> cases{
        {1000, 100, 5}, {1000, 1000, 6}, {1, 1, 7}, {0, 0, 8}, {37, 36, 0}};
    std::vector<std::vector<std::string>> jobs;
    for (const auto& c : cases) jobs.push_back({"random", str(c[0]), str(c[1]), str(c[2])});
    const auto o = oracle(jobs);
    ASSERT_EQ(o.size(), cases.size());
    for (std::size_t j = 0; j < cases.size(); ++j) {
        const auto& c = cases[j];
        const auto picks = sp::random_select(c[0], c[1], static_cast<std::uint64_t>(c[2]));
        expect_picks(picks, field(o[j], "picks"), "random case " + std::to_string(j));
        auto sorted = picks;
        std::sort(sorted.begin(), sorted.end());
        EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "repeats";
    }
}

// --- Bad input: DataError. ---

TEST(AlStrategiesErrors, BadInputThrowsDataError) {
    const std::vector<float> p{0.5F, 0.5F, 0.2F, 0.8F};
    std::vector<float> nan_p = p;
    nan_p[1] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> neg_p = p;
    neg_p[2] = -0.1F;
    EXPECT_THROW(sp::least_confidence_scores(nan_p.data(), 2, 2), sp::DataError);
    EXPECT_THROW(sp::entropy_scores(neg_p.data(), 2, 2), sp::DataError);
    EXPECT_THROW(sp::least_confidence_scores(p.data(), 2, 0), sp::DataError);
    EXPECT_THROW(sp::least_confidence_scores(p.data(), -1, 2), sp::DataError);
    EXPECT_THROW(sp::margin_scores(p.data(), 4, 1), sp::DataError);
    EXPECT_THROW(sp::bald_scores(p.data(), 0, 2, 2), sp::DataError);
    EXPECT_THROW(sp::bald_scores(nan_p.data(), 2, 1, 2), sp::DataError);
    EXPECT_THROW(sp::top_k({1.0, 2.0}, 3), sp::DataError);
    EXPECT_THROW(sp::top_k({1.0, 2.0}, -1), sp::DataError);
    EXPECT_THROW(sp::top_k({1.0, std::numeric_limits<double>::quiet_NaN()}, 1), sp::DataError);
    const std::vector<float> e{1.0F, 2.0F, std::numeric_limits<float>::infinity(), 0.0F};
    EXPECT_THROW(sp::coreset_greedy(e.data(), 2, e.data(), 0, 2, 1), sp::DataError);
    EXPECT_THROW(sp::coreset_greedy(p.data(), 2, p.data(), 2, 2, 3), sp::DataError);
    EXPECT_THROW(sp::coreset_greedy(p.data(), 2, p.data(), 2, 0, 1), sp::DataError);
    EXPECT_THROW(sp::badge_select(p.data(), e.data(), 2, 2, 2, 1, 1), sp::DataError);
    EXPECT_THROW(sp::badge_select(p.data(), p.data(), 2, 2, 2, 3, 1), sp::DataError);
    EXPECT_THROW(sp::random_select(5, 6, 1), sp::DataError);
    EXPECT_THROW(sp::random_select(-1, 0, 1), sp::DataError);
    try {
        sp::margin_scores(nan_p.data(), 2, 2);
        ADD_FAILURE() << "no DataError";
    } catch (const sp::DataError& err) {
        EXPECT_NE(std::string(err.what()).find("margin_scores: probabilities row 0 column 1"),
                  std::string::npos)
            << err.what();
    }
}

// --- Determinism: bit-identical for 1 and 2 threads. ---

struct AllResults {
    std::vector<double> lc, margin, entropy, bald, core_dist;
    std::vector<std::int64_t> top, core, badge, random;
    bool operator==(const AllResults& o) const {
        return lc == o.lc && margin == o.margin && entropy == o.entropy && bald == o.bald &&
               core_dist == o.core_dist && top == o.top && core == o.core && badge == o.badge &&
               random == o.random;
    }
};

TEST(AlStrategiesDeterminism, ThreadCountsGiveIdenticalBits) {
    const std::int64_t n = 4000;
    const std::int64_t k = 10;
    const std::int64_t d = 32;
    const std::int64_t t = 4;
    const auto probs = make_probs(n, k, 41);
    std::vector<float> mc;
    for (std::int64_t s = 0; s < t; ++s) {
        const auto pass = make_probs(n, k, 50 + static_cast<std::uint64_t>(s));
        mc.insert(mc.end(), pass.begin(), pass.end());
    }
    const auto emb = make_emb(n, d, 42);
    const auto lab = make_emb(300, d, 43);
    const int previous = at::get_num_threads();
    auto run_all = [&](int threads) {
        at::set_num_threads(threads);
        AllResults r;
        r.lc = sp::least_confidence_scores(probs.data(), n, k);
        r.margin = sp::margin_scores(probs.data(), n, k);
        r.entropy = sp::entropy_scores(probs.data(), n, k);
        r.bald = sp::bald_scores(mc.data(), t, n, k);
        r.top = sp::top_k(r.entropy, 500);
        r.core = sp::coreset_greedy(emb.data(), n, lab.data(), 300, d, 100, &r.core_dist);
        r.badge = sp::badge_select(probs.data(), emb.data(), n, k, d, 100, 9);
        r.random = sp::random_select(n, 500, 9);
        return r;
    };
    const AllResults one = run_all(1);
    const AllResults two = run_all(2);
    at::set_num_threads(previous);
    EXPECT_TRUE(one == two);
}

// --- al.pool_subset: select_pool_subset. ---

TEST(AlPoolSubset, MatchesPythonShuffleAndProperties) {
    const TempDir dir("al");
    // A pool of distinct values, not sorted and not 0 .. n-1 (positions and values differ).
    std::vector<std::int64_t> pool;
    for (std::int64_t i = 0; i < 500; ++i) pool.push_back((i * 7919) % 1009 + 3);
    const std::vector<float> pool_f(pool.begin(), pool.end());
    const auto path = write_binary(dir, "pool.bin", pool_f);
    const std::vector<std::vector<std::int64_t>> cases{{500, 100, 1}, {500, 499, 2}, {500, 1, 3},
                                                       {500, 0, 4},   {500, 500, 5}, {500, 900, 6}};
    std::vector<std::vector<std::string>> jobs;
    for (const auto& c : cases) jobs.push_back({"subset", path, str(c[0]), str(c[1]), str(c[2])});
    const auto o = oracle(jobs);
    ASSERT_EQ(o.size(), cases.size());
    std::vector<std::int64_t> sorted_pool = pool;
    std::sort(sorted_pool.begin(), sorted_pool.end());
    for (std::size_t j = 0; j < cases.size(); ++j) {
        SCOPED_TRACE("case " + std::to_string(j));
        const std::int64_t subset = cases[j][1];
        const auto seed = static_cast<std::uint64_t>(cases[j][2]);
        const auto got = sp::select_pool_subset(pool, subset, seed);
        expect_picks(got, field(o[j], "subset"), "pool subset");
        const bool whole = subset == 0 || subset >= 500;
        EXPECT_EQ(got.size(), whole ? pool.size() : static_cast<std::size_t>(subset));
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
        EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end()) << "repeats";
        EXPECT_TRUE(std::includes(sorted_pool.begin(), sorted_pool.end(), got.begin(), got.end()))
            << "a value not in the pool";
        if (whole) {
            EXPECT_EQ(got, sorted_pool);
        }
        EXPECT_EQ(sp::select_pool_subset(pool, subset, seed), got) << "not reproducible";
    }
    EXPECT_NE(sp::select_pool_subset(pool, 100, 1), sp::select_pool_subset(pool, 100, 2));
    EXPECT_TRUE(sp::select_pool_subset({}, 10, 1).empty());
    EXPECT_THROW(sp::select_pool_subset(pool, -1, 1), sp::ConfigError);
}

TEST(AlPoolSubset, UniformInclusionAndPairs) {
    // 20 values, 5 drawn, 20,000 seeds: each value's inclusion count is Binomial(20000, 1/4)
    // (sd 61); each pair's is Binomial(20000, 5*4/(20*19)) (sd 32). Bounds at 5 sd (over 190
    // pairs and 20 values the chance of a false failure is below 1e-4); a biased draw (e.g.
    // always the first 5, or a modulo bias toward low positions) fails far outside them.
    const std::int64_t n = 20;
    const std::int64_t k = 5;
    const int seeds = 20000;
    std::vector<std::int64_t> pool;
    for (std::int64_t i = 0; i < n; ++i) pool.push_back(100 + 3 * i);
    std::vector<double> single(static_cast<std::size_t>(n), 0.0);
    std::vector<double> pair(static_cast<std::size_t>(n * n), 0.0);
    for (int s = 0; s < seeds; ++s) {
        const auto got = sp::select_pool_subset(pool, k, static_cast<std::uint64_t>(s) * 977 + 13);
        ASSERT_EQ(got.size(), static_cast<std::size_t>(k));
        for (const std::int64_t v : got) {
            const std::int64_t a = (v - 100) / 3;
            single[at(a)] += 1.0;
            for (const std::int64_t w : got) {
                const std::int64_t b = (w - 100) / 3;
                if (a < b) pair[at(a * n + b)] += 1.0;
            }
        }
    }
    const double p1 = static_cast<double>(k) / static_cast<double>(n);
    const double p2 = p1 * static_cast<double>(k - 1) / static_cast<double>(n - 1);
    const double sd1 = std::sqrt(seeds * p1 * (1 - p1));
    const double sd2 = std::sqrt(seeds * p2 * (1 - p2));
    for (std::int64_t a = 0; a < n; ++a) {
        EXPECT_LE(std::abs(single[at(a)] - seeds * p1), 5 * sd1) << "value " << a;
        for (std::int64_t b = a + 1; b < n; ++b)
            EXPECT_LE(std::abs(pair[at(a * n + b)] - seeds * p2), 5 * sd2) << a << "," << b;
    }
}

// --- Core-set: the float-screened greedy equals the exact double greedy, bit for bit. ---

/// Runs both core-set greedies and expects identical picks and bit-identical distances.
void expect_same_coreset(const std::vector<float>& pool, std::int64_t n,
                         const std::vector<float>& lab, std::int64_t n_lab, std::int64_t d,
                         std::int64_t count) {
    std::vector<double> fast_dist, direct_dist;
    const auto fast = sp::coreset_greedy(pool.data(), n, lab.data(), n_lab, d, count, &fast_dist);
    const auto direct = sp::detail::coreset_greedy_direct(pool.data(), n, lab.data(), n_lab, d,
                                                          count, &direct_dist);
    EXPECT_EQ(fast, direct);
    ASSERT_EQ(fast_dist.size(), direct_dist.size());
    for (std::size_t i = 0; i < fast_dist.size(); ++i)
        EXPECT_EQ(fast_dist[i], direct_dist[i]) << "pick " << i; // bit for bit (inf included)
}

TEST(AlCoresetScreening, EqualsExactGreedyOnNearTies) {
    const std::int64_t d = 24;
    const std::int64_t n = 400;
    const std::int64_t n_lab = 80;
    std::mt19937_64 rng(61);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    auto pool = make_emb(n, d, 62);
    std::vector<float> lab(at(n_lab * d));
    // Near ties at the last bit: labelled rows 2j and 2j+1 are pool row j plus an offset v and
    // plus v with its coordinates permuted (the same real distance, different sum4 roundings);
    // pool rows 200 + j likewise around pool row j (ties among picks in the greedy updates).
    for (std::int64_t j = 0; j < n_lab / 2; ++j) {
        std::vector<float> v(at(d));
        for (auto& e : v) e = 0.37F * normal(rng);
        std::vector<float> w = v;
        std::rotate(w.begin(), w.begin() + 1 + j % (d - 1), w.end());
        for (std::int64_t c = 0; c < d; ++c) {
            lab[at(2 * j * d + c)] = pool[at(j * d + c)] + v[at(c)];
            lab[at((2 * j + 1) * d + c)] = pool[at(j * d + c)] + w[at(c)];
        }
    }
    for (std::int64_t j = 0; j < 150; ++j) {
        for (std::int64_t c = 0; c < d; ++c) {
            pool[at((200 + j) * d + c)] =
                pool[at(j * d + (c + 3) % d)] * ((j % 2 == 0) ? 1.0F : -1.0F);
        }
    }
    {
        SCOPED_TRACE("near ties");
        expect_same_coreset(pool, n, lab, n_lab, d, 300);
        expect_same_coreset(pool, n, lab, 0, d, 120);
    }
    {
        // Exact ties: small integer coordinates (every float product and sum exact), many rows
        // at equal distances; the lower-index rule decides.
        SCOPED_TRACE("lattice");
        std::vector<float> grid(at(n * d));
        std::uniform_int_distribution<int> level(0, 2);
        for (auto& e : grid) e = static_cast<float>(level(rng));
        const std::vector<float> glab(grid.begin(), grid.begin() + 30 * d);
        expect_same_coreset(grid, n, glab, 30, d, n);
    }
    {
        // A large common offset: float dot products cancel catastrophically, the screen cannot
        // exclude anything, and everything falls back to exact distances.
        SCOPED_TRACE("offset");
        auto far_pool = pool;
        auto far_lab = lab;
        for (auto& e : far_pool) e += 3000.0F;
        for (auto& e : far_lab) e += 3000.0F;
        expect_same_coreset(far_pool, n, far_lab, n_lab, d, 200);
    }
    {
        // Several GEMM blocks (1024 pool rows each) and mixed scales (rows x1000).
        SCOPED_TRACE("blocks");
        const std::int64_t big = 2600;
        auto bp = make_emb(big, 40, 63);
        const auto bl = make_emb(700, 40, 64);
        for (std::int64_t i = 0; i < big; i += 97)
            for (std::int64_t c = 0; c < 40; ++c) bp[at(i * 40 + c)] *= 1000.0F;
        expect_same_coreset(bp, big, bl, 700, 40, 400);
    }
}

// --- pool_outputs(): MC dropout through the head equals whole-network passes, bit for bit. ---

struct TinyPool {
    sp::ImageSet images;
    sp::TransformSpec spec;
    sp::LoaderOptions options;
    std::vector<std::int64_t> indices;
};

TinyPool tiny_pool() {
    TinyPool t;
    t.images.count = 40;
    t.images.channels = 3;
    t.images.height = 8;
    t.images.width = 8;
    std::mt19937 rng(71);
    t.images.pixels.resize(static_cast<std::size_t>(40 * 3 * 8 * 8));
    for (auto& p : t.images.pixels) p = static_cast<std::uint8_t>(rng() % 256);
    for (std::int64_t i = 0; i < 40; ++i) t.images.labels.push_back(i % 5);
    t.spec.in_channels = t.spec.out_channels = 3;
    t.spec.in_height = t.spec.out_height = 8;
    t.spec.in_width = t.spec.out_width = 8;
    t.spec.mean = {0.5F, 0.4F, 0.3F};
    t.spec.std = {0.25F, 0.2F, 0.3F};
    for (std::int64_t i = 39; i >= 0; i -= 3) t.indices.push_back(i); // 14 images, 2 batches
    return t;
}

sp::ResNet18 tiny_model() {
    return sp::ResNet18(
        sp::ResNet18Options().stem(sp::Stem::cifar).width(0.125).num_classes(5).dropout(0.4), 17);
}

TEST(AlPoolOutputs, McDropoutHeadPassesEqualWholeNetworkPasses) {
    const TinyPool t = tiny_pool();
    sp::ResNet18 model = tiny_model();
    const sp::PoolScoring scoring{/*batch_size=*/8, /*mc_samples=*/6, /*dropout_seed=*/77};
    torch::manual_seed(5);
    const sp::PoolOutputs got =
        sp::pool_outputs(model, t.images, t.indices, t.spec, t.options, scoring, torch::kCPU);
    const torch::Tensor after = torch::rand({4});
    EXPECT_FALSE(model->is_training());

    // The reference: what pool_outputs() did before the head split, each pass a whole
    // model->forward() with only dropout in training mode, the generator seeded the same way.
    torch::NoGradGuard no_grad;
    sp::LoaderOptions opt = t.options;
    opt.batch_size = 8;
    opt.shuffle = false;
    opt.mode = sp::LoaderMode::eval;
    sp::BatchLoader loader(t.images, t.indices, t.spec, opt);
    torch::manual_seed(77);
    std::vector<std::vector<torch::Tensor>> passes(6);
    std::vector<torch::Tensor> logits;
    loader.start_epoch(0);
    while (std::optional<sp::Batch> b = loader.next()) {
        model->eval();
        logits.push_back(model->forward(b->images));
        for (auto& m : model->named_modules()) {
            if (m.key() == "dropout") m.value()->train(true);
        }
        for (auto& pass : passes) pass.push_back(torch::softmax(model->forward(b->images), 1));
        model->eval();
    }
    std::vector<torch::Tensor> stacked;
    for (auto& pass : passes) stacked.push_back(torch::cat(pass));
    const torch::Tensor want = torch::stack(stacked);
    ASSERT_EQ(got.mc_probs.sizes(), want.sizes());
    EXPECT_TRUE(torch::equal(got.mc_probs, want)) << "MC probabilities differ";
    EXPECT_TRUE(torch::equal(got.logits, torch::cat(logits)));
    // The passes do sample (a test that could not fail otherwise), and differ from eval mode.
    EXPECT_FALSE(torch::equal(got.mc_probs[0], got.mc_probs[1]));
    EXPECT_FALSE(torch::equal(got.mc_probs[0], torch::softmax(got.logits, 1)));
    // The CPU generator is put back: the draw after pool_outputs() is the draw after seed 5.
    torch::manual_seed(5);
    EXPECT_TRUE(torch::equal(after, torch::rand({4})));
}

TEST(AlPoolOutputs, StopSignalEndsScoring) {
    const TinyPool t = tiny_pool();
    sp::ResNet18 model = tiny_model();
    const sp::PoolScoring scoring{/*batch_size=*/8, /*mc_samples=*/3, /*dropout_seed=*/77};
    torch::manual_seed(5);
    sp::set_stop_requested_for_testing(SIGUSR1);
    EXPECT_THROW(
        sp::pool_outputs(model, t.images, t.indices, t.spec, t.options, scoring, torch::kCPU),
        sp::StopRequested);
    sp::set_stop_requested_for_testing(0);
    EXPECT_FALSE(model->is_training());
    const torch::Tensor after = torch::rand({4});
    torch::manual_seed(5);
    EXPECT_TRUE(torch::equal(after, torch::rand({4}))) << "generator not restored";
    const sp::PoolOutputs o =
        sp::pool_outputs(model, t.images, t.indices, t.spec, t.options, scoring, torch::kCPU);
    EXPECT_EQ(o.logits.size(0), static_cast<std::int64_t>(t.indices.size()));
}

} // namespace
