// metrics/clusters against scikit-learn 1.x (Debian's /usr/bin/python3): silhouette_score and
// silhouette_samples (metric "euclidean" and "cosine") and davies_bouldin_score on float32
// embeddings (given to sklearn as float64), with a singleton class, an empty class index and a
// zero row. Agreement within 1e-9 relative to max(|expected|, 1) for the exact path and the cosine
// O(N K d) path, 1e-6 for the float32-GEMM euclidean path; every path bit-identical across thread
// counts, the exact path also across chunk sizes.
#include "sp/metrics/clusters.hpp"

#include "sp/util/error.hpp"
#include "support/oracle.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using sp::test::python;
using sp::test::TempDir;

namespace {

bool have_sklearn() { return sp::test::python_has("sklearn, numpy"); }

using Data = sp::test::LabelledEmbeddings;

/// Gaussian blobs around per-class centres. Class `empty` gets no sample, class `single` exactly
/// one; row `zero_row` (if >= 0) is all zeros.
Data make_data(std::int64_t n, std::int64_t d, std::int64_t classes, std::int64_t empty,
               std::int64_t single, std::int64_t zero_row, unsigned seed) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::vector<std::int64_t> usable;
    for (std::int64_t k = 0; k < classes; ++k) {
        if (k != empty && k != single) usable.push_back(k);
    }
    std::uniform_int_distribution<std::size_t> pick(0, usable.size() - 1);
    std::vector<float> centre(static_cast<std::size_t>(classes * d));
    for (auto& c : centre) c = 2.0F * normal(gen);
    Data data;
    data.n = n;
    data.d = d;
    data.classes = classes;
    data.labels.resize(static_cast<std::size_t>(n));
    data.x.resize(static_cast<std::size_t>(n * d));
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t c = i == n / 2 && single >= 0 ? single : usable[pick(gen)];
        data.labels[static_cast<std::size_t>(i)] = c;
        for (std::int64_t k = 0; k < d; ++k) {
            data.x[static_cast<std::size_t>(i * d + k)] =
                i == zero_row ? 0.0F : centre[static_cast<std::size_t>(c * d + k)] + normal(gen);
        }
    }
    return data;
}

struct Expected {
    double sil_euclidean = 0.0;
    double sil_cosine = 0.0;
    double davies_bouldin = 0.0;
    std::vector<double> samples_euclidean;
    std::vector<double> samples_cosine;
};

Expected oracle(const Data& data, const TempDir& dir) {
    const std::string in = dir.file("clusters_in.bin");
    const std::string out = dir.file("clusters_out.bin");
    {
        std::ofstream f(in, std::ios::binary);
        f.write(reinterpret_cast<const char*>(&data.n), sizeof data.n);
        f.write(reinterpret_cast<const char*>(&data.d), sizeof data.d);
        f.write(reinterpret_cast<const char*>(data.x.data()),
                static_cast<std::streamsize>(data.x.size() * sizeof(float)));
        f.write(reinterpret_cast<const char*>(data.labels.data()),
                static_cast<std::streamsize>(data.labels.size() * sizeof(std::int64_t)));
    }
    const auto r = sp::test::run(
        {python(), sp::test::source_path("tests/oracle/clusters_oracle.py"), in, out});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string raw = sp::test::read_file(out);
    const auto n = static_cast<std::size_t>(data.n);
    std::vector<double> v(3 + 2 * n);
    EXPECT_EQ(raw.size(), v.size() * sizeof(double));
    std::memcpy(v.data(), raw.data(), std::min(raw.size(), v.size() * sizeof(double)));
    Expected e;
    e.sil_euclidean = v[0];
    e.sil_cosine = v[1];
    e.davies_bouldin = v[2];
    e.samples_euclidean.assign(v.begin() + 3, v.begin() + 3 + static_cast<std::ptrdiff_t>(n));
    e.samples_cosine.assign(v.begin() + 3 + static_cast<std::ptrdiff_t>(n), v.end());
    return e;
}

constexpr double kTol = 1e-9;
constexpr double kTolFloatGemm = 1e-6;

double rel_err(double got, double want) {
    return std::abs(got - want) / std::max(std::abs(want), 1.0);
}

void expect_silhouette(const sp::Silhouette& got, double mean, const std::vector<double>& samples,
                       const Data& data, const std::string& what, double tol) {
    SCOPED_TRACE(what);
    EXPECT_LE(rel_err(got.mean, mean), tol) << got.mean << " vs " << mean;
    ASSERT_EQ(got.samples.size(), samples.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        worst = std::max(worst, rel_err(got.samples[i], samples[i]));
        EXPECT_LE(rel_err(got.samples[i], samples[i]), tol) << "sample " << i;
    }
    std::vector<double> sum(static_cast<std::size_t>(data.classes), 0.0);
    std::vector<double> count(sum.size(), 0.0);
    for (std::size_t i = 0; i < samples.size(); ++i) {
        sum[static_cast<std::size_t>(data.labels[i])] += samples[i];
        count[static_cast<std::size_t>(data.labels[i])] += 1.0;
    }
    ASSERT_EQ(got.per_class.size(), sum.size());
    for (std::size_t k = 0; k < sum.size(); ++k) {
        if (count[k] == 0.0) {
            EXPECT_TRUE(std::isnan(got.per_class[k])) << "class " << k;
        } else {
            EXPECT_LE(rel_err(got.per_class[k], sum[k] / count[k]), tol) << "class " << k;
        }
    }
    std::cout << "[ worst ] " << what << ": " << worst << " (samples), " << rel_err(got.mean, mean)
              << " (mean)\n";
}

void check_against_sklearn(const Data& data) {
    if (!have_sklearn()) GTEST_SKIP() << python() << " lacks scikit-learn";
    TempDir dir("clusters");
    const Expected e = oracle(data, dir);
    for (bool exact : {false, true}) {
        sp::ClusterOptions opt;
        opt.per_sample = true;
        opt.exact = exact;
        const std::string path = exact ? " (exact)" : " (fast)";
        const auto eu = sp::silhouette(data.x.data(), data.n, data.d, data.labels.data(),
                                       data.classes, sp::Distance::euclidean, opt);
        expect_silhouette(eu, e.sil_euclidean, e.samples_euclidean, data, "euclidean" + path,
                          exact ? kTol : kTolFloatGemm);
        const auto co = sp::silhouette(data.x.data(), data.n, data.d, data.labels.data(),
                                       data.classes, sp::Distance::cosine, opt);
        expect_silhouette(co, e.sil_cosine, e.samples_cosine, data, "cosine" + path, kTol);
    }
    const double db =
        sp::davies_bouldin(data.x.data(), data.n, data.d, data.labels.data(), data.classes);
    EXPECT_LE(rel_err(db, e.davies_bouldin), kTol) << db << " vs " << e.davies_bouldin;
    std::cout << "[ worst ] davies_bouldin: " << rel_err(db, e.davies_bouldin) << '\n';
}

/// Many classes in random order (the euclidean fast path sorts by label, and a 512-column tile
/// then spans several classes) with exact duplicates: rows 300 to 319 are copied to 800 to 819
/// (same class), and class 21 holds only rows 100 and 1200, one point far from the mean (where
/// float products lose most digits) twice, so that a = 0 and s = 1 exactly for both.
Data make_duplicates(std::int64_t n, std::int64_t d) {
    constexpr std::int64_t kPair = 21;
    Data data = make_data(n, d, /*classes=*/60, /*empty=*/13, /*single=*/-1, /*zero_row=*/-1, 7);
    for (auto& label : data.labels) {
        if (label == kPair) label = kPair + 1;
    }
    auto row = [&](std::int64_t i) { return data.x.begin() + i * d; };
    for (std::int64_t i = 300; i < 320; ++i) {
        std::copy(row(i), row(i) + d, row(i + 500));
        data.labels[static_cast<std::size_t>(i + 500)] = data.labels[static_cast<std::size_t>(i)];
    }
    for (auto it = row(100); it != row(100) + d; ++it) *it += 6.0F;
    std::copy(row(100), row(100) + d, row(1200));
    data.labels[100] = kPair;
    data.labels[1200] = kPair;
    return data;
}

bool same_bits(const sp::Silhouette& a, const sp::Silhouette& b) {
    auto eq = [](const std::vector<double>& u, const std::vector<double>& v) {
        return u.size() == v.size() &&
               (u.empty() || std::memcmp(u.data(), v.data(), u.size() * sizeof(double)) == 0);
    };
    return std::memcmp(&a.mean, &b.mean, sizeof(double)) == 0 && eq(a.per_class, b.per_class) &&
           eq(a.samples, b.samples);
}

} // namespace

TEST(ClustersOracle, D32TenClassesSingletonEmptyZeroRow) {
    check_against_sklearn(make_data(800, 32, 10, 3, 7, 11, 1));
}

TEST(ClustersOracle, D2FourClassesSingletonEmpty) {
    check_against_sklearn(make_data(300, 2, 4, 0, 2, -1, 2));
}

TEST(ClustersOracle, D2SixClassesSmall) {
    check_against_sklearn(make_data(57, 2, 6, -1, -1, 5, 3));
}

// The euclidean fast path orders samples by label and cuts the triangle into 256 x 512 tiles:
// n = 1,300 gives 6 row blocks, 3 column tiles, tiles spanning many of the 60 classes, and
// duplicates that only the exact refinement puts at distance 0. Only the fast path against
// scikit-learn: scikit-learn's own duplicates are sqrt(rounding) apart, ~1e-9 relative, above
// the exact path's 1e-9 tolerance.
TEST(ClustersOracle, ManyInterleavedClassesWithDuplicates) {
    if (!have_sklearn()) GTEST_SKIP() << python() << " lacks scikit-learn";
    const Data data = make_duplicates(1300, 24);
    TempDir dir("clusters_dup");
    const Expected e = oracle(data, dir);
    sp::ClusterOptions opt;
    opt.per_sample = true;
    const auto s = sp::silhouette(data.x.data(), data.n, data.d, data.labels.data(), data.classes,
                                  sp::Distance::euclidean, opt);
    expect_silhouette(s, e.sil_euclidean, e.samples_euclidean, data, "euclidean (fast)",
                      kTolFloatGemm);
    ASSERT_EQ(s.samples.size(), 1300U);
    EXPECT_EQ(s.samples[100], 1.0);
    EXPECT_EQ(s.samples[1200], 1.0);
}

// Every path is bit-identical for every thread count (clusters.hpp): the fast paths' products
// come from one single-threaded GEMM per fixed block. Chunk sizes change the euclidean fast
// path's GEMM shapes, so across chunks it agrees to float rounding only; the others are
// bit-identical across chunks too. n = 700: one block at chunk 0, several at 256, 33 and 1;
// n = 2,000, d = 256 is the quick sweep's shape, where a threaded GEMM did change the bits.
void expect_threads_bit_identical(const Data& data, const std::vector<std::int64_t>& chunks) {
    const int threads = torch::get_num_threads();
    for (bool exact : {true, false}) {
        for (auto metric : {sp::Distance::euclidean, sp::Distance::cosine}) {
            sp::ClusterOptions ref_opt;
            ref_opt.per_sample = true;
            ref_opt.exact = exact;
            torch::set_num_threads(1);
            const auto ref = sp::silhouette(data.x.data(), data.n, data.d, data.labels.data(),
                                            data.classes, metric, ref_opt);
            for (std::int64_t chunk : chunks) {
                sp::ClusterOptions opt = ref_opt;
                opt.chunk = chunk;
                torch::set_num_threads(1);
                const auto one = sp::silhouette(data.x.data(), data.n, data.d, data.labels.data(),
                                                data.classes, metric, opt);
                const bool chunk_matters = !exact && metric == sp::Distance::euclidean;
                if (!chunk_matters || chunk == 0) {
                    EXPECT_TRUE(same_bits(ref, one)) << "exact " << exact << " chunk " << chunk;
                } else {
                    EXPECT_LE(rel_err(one.mean, ref.mean), kTolFloatGemm) << "chunk " << chunk;
                    for (std::size_t i = 0; i < ref.samples.size(); ++i)
                        ASSERT_LE(rel_err(one.samples[i], ref.samples[i]), kTolFloatGemm)
                            << "chunk " << chunk << " sample " << i;
                }
                for (int t : {2, 3}) {
                    torch::set_num_threads(t);
                    const auto got = sp::silhouette(data.x.data(), data.n, data.d,
                                                    data.labels.data(), data.classes, metric, opt);
                    EXPECT_TRUE(same_bits(one, got))
                        << "exact " << exact << " metric " << static_cast<int>(metric)
                        << " threads " << t << " chunk " << chunk;
                }
            }
        }
    }
    torch::set_num_threads(threads);
}

TEST(Clusters, ThreadsBitIdenticalChunksExactBitIdenticalFastWithinTolerance) {
    expect_threads_bit_identical(make_data(700, 32, 8, 5, 1, 3, 4), {0, 700, 256, 33, 1});
}

TEST(Clusters, ThreadsBitIdenticalAtQuickSweepShape) {
    expect_threads_bit_identical(make_data(2000, 256, 10, -1, -1, 7, 6), {0, 512});
}

TEST(Clusters, ThreadsBitIdenticalManyClassesUnevenBlocks) {
    expect_threads_bit_identical(make_duplicates(1300, 24), {0, 100, 600});
}

TEST(Clusters, PerSampleOnlyWhenAsked) {
    const Data data = make_data(40, 2, 3, -1, -1, -1, 5);
    const auto s = sp::silhouette(data.x.data(), data.n, data.d, data.labels.data(), data.classes,
                                  sp::Distance::euclidean, {});
    EXPECT_TRUE(s.samples.empty());
    EXPECT_EQ(s.per_class.size(), 3U);
}

TEST(Clusters, RejectsBadLabels) {
    const std::vector<float> x = {0, 0, 1, 1, 2, 2};
    const std::vector<std::int64_t> one_class = {1, 1, 1};
    EXPECT_THROW(sp::silhouette(x.data(), 3, 2, one_class.data(), 3, sp::Distance::euclidean, {}),
                 sp::DataError);
    EXPECT_THROW(sp::davies_bouldin(x.data(), 3, 2, one_class.data(), 3), sp::DataError);
    const std::vector<std::int64_t> all_distinct = {0, 1, 2};
    EXPECT_THROW(sp::davies_bouldin(x.data(), 3, 2, all_distinct.data(), 3), sp::DataError);
    const std::vector<std::int64_t> out_of_range = {0, 1, 3};
    EXPECT_THROW(sp::silhouette(x.data(), 3, 2, out_of_range.data(), 3, sp::Distance::cosine, {}),
                 sp::DataError);
    try {
        sp::silhouette(x.data(), 3, 2, one_class.data(), 3, sp::Distance::euclidean, {});
    } catch (const sp::DataError& e) {
        EXPECT_NE(std::string(e.what()).find("1 classes present"), std::string::npos) << e.what();
    }
}
