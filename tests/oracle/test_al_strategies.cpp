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
#include "sp/al/strategies.hpp"
#include "sp/util/error.hpp"

#include "support/oracle.hpp"
#include "support/temp_dir.hpp"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
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

} // namespace
