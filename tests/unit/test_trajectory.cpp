// stats/trajectory: the per-round series of replicate-like files (written with the project's h5
// layer as al/rounds.cpp and write_analysis lay out /al and its round metrics), AUBC
// against trapezoids computed by hand, per-round summaries across seeds and /trajectories.
#include "sp/io/h5.hpp"
#include "sp/stats/trajectory.hpp"
#include "sp/util/error.hpp"

#include "support/errors.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

namespace h5 = sp::h5;

/// A replicate-like file: /al/labelled_size, /al/accuracy and, for the rounds listed in
/// `metrics_rounds`, /al/round_NNN/metrics with the given scalars.
void write_al_file(const std::string& path, const std::vector<std::int64_t>& sizes,
                   const std::vector<double>& accuracy,
                   const std::vector<std::map<std::string, double>>& round_scalars = {}) {
    h5::File f = h5::File::create(path);
    f.write_attribute("file_kind", "replicate");
    h5::Group al = f.create_group("/al");
    al.write<std::int64_t>("labelled_size", sizes);
    al.write<double>("accuracy", accuracy);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "round_%03zu", i);
        h5::Group rg = al.create_group(name);
        rg.write_attribute("labelled_size", sizes[i]);
        if (i < round_scalars.size() && !round_scalars[i].empty()) {
            // As write_analysis writes them (sp::nn): one float64 attribute per scalar.
            h5::Group scalars = rg.create_group("metrics/scalars");
            for (const auto& [metric, v] : round_scalars[i]) scalars.write_attribute(metric, v);
            rg.create_group("metrics/undefined");
        }
    }
}

sp::detail::RoundSeries series(std::vector<std::int64_t> sizes, std::vector<double> accuracy,
                               std::map<std::string, std::vector<double>> more = {}) {
    sp::detail::RoundSeries s;
    s.labelled_size = std::move(sizes);
    s.values = std::move(more);
    s.values["accuracy"] = std::move(accuracy);
    return s;
}

// ---- read_round_series: what a replicate file's /al gives ----------------------------------

TEST(ReadRoundSeries, BaselineHasNone) {
    sp::test::TempDir dir("traj");
    {
        h5::File f = h5::File::create(dir.file("baseline.h5"));
        f.write<double>("/eval/accuracy_per_class", {0.5, 0.5});
    }
    EXPECT_FALSE(sp::detail::read_round_series(h5::File::open(dir.file("baseline.h5"))));
}

TEST(ReadRoundSeries, NoRoundIsNone) {
    sp::test::TempDir dir("traj");
    write_al_file(dir.file("empty.h5"), {}, {});
    EXPECT_FALSE(sp::detail::read_round_series(h5::File::open(dir.file("empty.h5"))));
}

TEST(ReadRoundSeries, AccuracyOnlyWithoutRoundMetrics) {
    sp::test::TempDir dir("traj");
    write_al_file(dir.file("a.h5"), {100, 200, 400}, {0.5, 0.7, 0.8});
    const auto s = sp::detail::read_round_series(h5::File::open(dir.file("a.h5")));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->labelled_size, (std::vector<std::int64_t>{100, 200, 400}));
    ASSERT_EQ(s->values.size(), 1U);
    EXPECT_EQ(s->values.at("accuracy"), (std::vector<double>{0.5, 0.7, 0.8}));
}

TEST(ReadRoundSeries, RoundMetricsWhenEveryRoundHasThem) {
    sp::test::TempDir dir("traj");
    // nc1 in every round; dead_units missing from round 1: only nc1 (and accuracy) make series.
    write_al_file(dir.file("m.h5"), {10, 20}, {0.4, 0.6},
                  {{{"nc1", 2.0}, {"dead_units", 3.0}}, {{"nc1", 1.5}}});
    const auto s = sp::detail::read_round_series(h5::File::open(dir.file("m.h5")));
    ASSERT_TRUE(s);
    ASSERT_EQ(s->values.size(), 2U);
    EXPECT_EQ(s->values.at("accuracy"), (std::vector<double>{0.4, 0.6}));
    EXPECT_EQ(s->values.at("nc1"), (std::vector<double>{2.0, 1.5}));
}

TEST(ReadRoundSeries, NanScalarIsKept) {
    sp::test::TempDir dir("traj");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    write_al_file(dir.file("n.h5"), {10, 20}, {0.4, 0.6}, {{{"nc1", nan}}, {{"nc1", 1.0}}});
    const auto s = sp::detail::read_round_series(h5::File::open(dir.file("n.h5")));
    ASSERT_TRUE(s);
    ASSERT_EQ(s->values.at("nc1").size(), 2U);
    EXPECT_TRUE(std::isnan(s->values.at("nc1")[0]));
    EXPECT_EQ(s->values.at("nc1")[1], 1.0);
}

TEST(ReadRoundSeries, NoRoundMetricsWhenARoundLacksThem) {
    sp::test::TempDir dir("traj");
    write_al_file(dir.file("g.h5"), {10, 20, 30}, {0.4, 0.6, 0.7},
                  {{{"nc1", 2.0}}, {}, {{"nc1", 1.0}}});
    const auto s = sp::detail::read_round_series(h5::File::open(dir.file("g.h5")));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->values.size(), 1U);
    EXPECT_EQ(s->values.count("accuracy"), 1U);
}

// As al/loop.cpp writes them: rounds 0 .. R-2 have round metrics, the last round's model is the
// final one, whose metrics are the replicate's /metrics/scalars.
TEST(ReadRoundSeries, LastRoundMetricsAreTheFinalMetrics) {
    sp::test::TempDir dir("traj");
    write_al_file(dir.file("al.h5"), {100, 200, 300}, {0.5, 0.6, 0.7},
                  {{{"cosine_all_mean", 0.25}}, {{"cosine_all_mean", 0.5}}});
    {
        h5::File f = h5::File::open(dir.file("al.h5"), h5::Access::read_write);
        h5::Group g = f.create_group("/metrics/scalars");
        g.write_attribute("cosine_all_mean", 0.75);
    }
    const auto s = sp::detail::read_round_series(h5::File::open(dir.file("al.h5")));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->values.at("cosine_all_mean"), (std::vector<double>{0.25, 0.5, 0.75}));
    // Trapezoids over 100..300: (0.25 + 0.5) / 2 * 100 + (0.5 + 0.75) / 2 * 100 = 100, / 200.
    EXPECT_DOUBLE_EQ(sp::detail::aubc_values(*s, {"cosine_all_mean"}).at("aubc_cosine_all_mean"),
                     0.5);
}

TEST(ReadRoundSeries, MalformedIsIoErrorNamingTheFile) {
    sp::test::TempDir dir("traj");
    write_al_file(dir.file("bad.h5"), {10, 20, 30}, {0.4, 0.6});
    try {
        sp::detail::read_round_series(h5::File::open(dir.file("bad.h5")));
        FAIL() << "no error";
    } catch (const sp::IoError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(dir.file("bad.h5")), std::string::npos) << what;
        EXPECT_NE(what.find("/al/accuracy"), std::string::npos) << what;
    }
    write_al_file(dir.file("order.h5"), {10, 30, 20}, {0.4, 0.6, 0.5});
    try {
        sp::detail::read_round_series(h5::File::open(dir.file("order.h5")));
        FAIL() << "no error";
    } catch (const sp::IoError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(dir.file("order.h5")), std::string::npos) << what;
        EXPECT_NE(what.find("strictly increasing"), std::string::npos) << what;
    }
}

// ---- aubc_values: trapezoids by hand --------------------------------------------------------

TEST(AubcValues, HandComputedTrapezoids) {
    // x = 100, 200, 400 (span 300).
    // accuracy 0.5, 0.7, 0.8: (0.5 + 0.7) / 2 * 100 + (0.7 + 0.8) / 2 * 200 = 60 + 150 = 210;
    //   / 300 = 0.7.
    // nc1 2, 1, 0.5: 1.5 * 100 + 0.75 * 200 = 300; / 300 = 1.
    // dead_units is no endpoint: no AUBC. silhouette_euclidean_tsne is one the series lacks.
    const sp::detail::RoundSeries s =
        series({100, 200, 400}, {0.5, 0.7, 0.8},
               {{"nc1", {2.0, 1.0, 0.5}}, {"dead_units", {1.0, 2.0, 3.0}}});
    const auto v = sp::detail::aubc_values(s, {"nc1", "silhouette_euclidean_tsne"});
    ASSERT_EQ(v.size(), 2U);
    EXPECT_NEAR(v.at("aubc_accuracy"), 0.7, 1e-15);
    EXPECT_NEAR(v.at("aubc_nc1"), 1.0, 1e-15);
}

TEST(AubcValues, AccuracyEndpointIsNotDoubled) {
    // x = 0, 10 (span 10); y = 0.2, 0.6: the mean height 0.4.
    const auto v = sp::detail::aubc_values(series({0, 10}, {0.2, 0.6}), {"accuracy"});
    ASSERT_EQ(v.size(), 1U);
    EXPECT_NEAR(v.at("aubc_accuracy"), 0.4, 1e-15);
}

TEST(AubcValues, UnevenBudgetWeighsBySize) {
    // x = 10, 11, 20: accuracy 0, 1, 1 -> (0.5 * 1 + 1 * 9) / 10 = 0.95 (not the round mean 2/3).
    const auto v = sp::detail::aubc_values(series({10, 11, 20}, {0.0, 1.0, 1.0}), {});
    EXPECT_NEAR(v.at("aubc_accuracy"), 0.95, 1e-15);
}

TEST(AubcValues, NoneForOneRound) {
    EXPECT_TRUE(sp::detail::aubc_values(series({100}, {0.5}), {"nc1"}).empty());
}

TEST(AubcValues, NanRoundGivesNan) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const auto v = sp::detail::aubc_values(
        series({1, 2, 3}, {0.1, 0.2, 0.3}, {{"nc1", {1.0, nan, 1.0}}}), {"nc1"});
    EXPECT_TRUE(std::isnan(v.at("aubc_nc1")));
}

// ---- summarize_trajectory -------------------------------------------------------------------

/// t.ppf(0.975, 2) from the closed form of Student's t with 2 degrees of freedom,
/// (2p - 1) / sqrt(2 p (1 - p)), to 20 digits with mpmath (SciPy 1.10 gives 4.302652729911275,
/// 4e-11 off).
constexpr double kT975Df2 = 4.3026527297494638523;

TEST(SummarizeTrajectory, PerRoundSummaries) {
    // Three seeds, two rounds. Round 0 accuracy 0.5, 0.6, 0.7: mean 0.6, sd 0.1; round 1
    // accuracy 0.8, 0.8, 0.8: sd 0, interval collapses. nc1 in every series; dead_units in one.
    const std::vector<sp::detail::RoundSeries> seeds = {
        series({50, 100}, {0.6, 0.8}, {{"nc1", {3.0, 1.0}}, {"dead_units", {0.0, 0.0}}}),
        series({50, 100}, {0.5, 0.8}, {{"nc1", {2.0, 1.0}}}),
        series({50, 100}, {0.7, 0.8}, {{"nc1", {4.0, 1.0}}}),
    };
    const std::int64_t b = 200;
    const std::uint64_t seed = 7;
    const sp::Trajectory t = sp::detail::summarize_trajectory(
        3, "al.strategy=margin", seeds, {"nc1", "dead_units", "accuracy"}, b, seed);
    EXPECT_EQ(t.condition, 3U);
    EXPECT_EQ(t.labelled_size, (std::vector<std::int64_t>{50, 100}));
    EXPECT_EQ(t.metrics, (std::vector<std::string>{"accuracy", "nc1"}));
    ASSERT_EQ(t.rounds.size(), 2U);
    ASSERT_EQ(t.rounds[0].size(), 2U);

    const sp::stats::Summary& acc0 = t.rounds[0][0];
    EXPECT_EQ(acc0.n, 3);
    EXPECT_NEAR(acc0.mean, 0.6, 1e-15);
    EXPECT_NEAR(acc0.std, 0.1, 1e-15);
    const double half = kT975Df2 * 0.1 / std::sqrt(3.0);
    EXPECT_NEAR(acc0.t_low, 0.6 - half, 1e-15);
    EXPECT_NEAR(acc0.t_high, 0.6 + half, 1e-15);
    EXPECT_NEAR(acc0.median, 0.6, 1e-15);
    // The bootstrap is the one summarize gives with the caller's B and seed.
    const sp::stats::Summary ref = sp::stats::summarize({0.6, 0.5, 0.7}, 0.95, b, seed);
    EXPECT_EQ(acc0.boot_low, ref.boot_low);
    EXPECT_EQ(acc0.boot_high, ref.boot_high);

    const sp::stats::Summary& acc1 = t.rounds[1][0];
    EXPECT_EQ(acc1.n, 3);
    EXPECT_NEAR(acc1.mean, 0.8, 1e-15);
    EXPECT_NEAR(acc1.t_low, 0.8, 1e-15);
    EXPECT_NEAR(acc1.t_high, 0.8, 1e-15);

    const sp::stats::Summary& nc0 = t.rounds[0][1];
    EXPECT_EQ(nc0.n, 3);
    EXPECT_NEAR(nc0.mean, 3.0, 1e-15);
    EXPECT_NEAR(nc0.std, 1.0, 1e-15);
    EXPECT_NEAR(nc0.t_high, 3.0 + kT975Df2 / std::sqrt(3.0), 1e-14);
}

TEST(SummarizeTrajectory, NanValuesAreDropped) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<sp::detail::RoundSeries> seeds = {
        series({1, 2}, {0.1, 0.2}, {{"nc1", {nan, 4.0}}}),
        series({1, 2}, {0.3, 0.4}, {{"nc1", {2.0, 6.0}}}),
    };
    const sp::Trajectory t = sp::detail::summarize_trajectory(0, "x", seeds, {"nc1"}, 10, 0);
    EXPECT_EQ(t.rounds[0][1].n, 1);
    EXPECT_EQ(t.rounds[0][1].mean, 2.0);
    EXPECT_EQ(t.rounds[1][1].n, 2);
    EXPECT_EQ(t.rounds[1][1].mean, 5.0);
}

TEST(SummarizeTrajectory, MismatchedBudgetsAreDataErrorNamingTheCondition) {
    const std::vector<sp::detail::RoundSeries> other_sizes = {
        series({50, 100}, {0.6, 0.8}),
        series({50, 150}, {0.5, 0.8}),
    };
    const std::string what = sp::test::data_error_of([&] {
        sp::detail::summarize_trajectory(1, "al.strategy=entropy", other_sizes, {}, 10, 0);
    });
    EXPECT_NE(what.find("al.strategy=entropy"), std::string::npos) << what;
    EXPECT_NE(what.find("[50, 150]"), std::string::npos) << what;

    const std::vector<sp::detail::RoundSeries> other_rounds = {
        series({50, 100}, {0.6, 0.8}),
        series({50, 100, 150}, {0.5, 0.8, 0.9}),
    };
    const std::string rounds = sp::test::data_error_of([&] {
        sp::detail::summarize_trajectory(1, "al.strategy=entropy", other_rounds, {}, 10, 0);
    });
    EXPECT_NE(rounds.find("al.strategy=entropy"), std::string::npos) << rounds;
}

// ---- write_trajectories and the markdown ----------------------------------------------------

sp::stats::Summary summary_of(std::int64_t n, double mean) {
    sp::stats::Summary s;
    s.n = n;
    s.mean = mean;
    s.std = mean / 10;
    s.t_low = mean - 1;
    s.t_high = mean + 1;
    return s;
}

sp::Reduction two_trajectories() {
    sp::Reduction r;
    r.conditions.resize(3);
    r.conditions[0].label = "al.strategy=baseline";
    r.conditions[1].label = "al.strategy=margin";
    r.conditions[2].label = "al.strategy=random";
    sp::Trajectory a;
    a.condition = 1;
    a.labelled_size = {10, 20};
    a.metrics = {"accuracy", "nc1"};
    a.rounds = {{summary_of(3, 0.5), summary_of(3, 2.0)}, {summary_of(3, 0.6), summary_of(2, 1.5)}};
    sp::Trajectory b;
    b.condition = 2;
    b.labelled_size = {10, 20, 30};
    b.metrics = {"accuracy"};
    b.rounds = {{summary_of(4, 0.4)}, {summary_of(4, 0.55)}, {summary_of(4, 0.65)}};
    r.trajectories = {a, b};
    return r;
}

TEST(WriteTrajectories, Datasets) {
    sp::test::TempDir dir("traj");
    const sp::Reduction r = two_trajectories();
    {
        h5::File f = h5::File::create(dir.file("summary.h5"));
        sp::detail::write_trajectories(f, r);
    }
    const h5::File f = h5::File::open(dir.file("summary.h5"));
    EXPECT_EQ(f.read<std::int64_t>("/trajectories/condition"), (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(f.read<std::int64_t>("/trajectories/round_offsets"),
              (std::vector<std::int64_t>{0, 2, 5}));
    EXPECT_EQ(f.read<std::int64_t>("/trajectories/labelled_size"),
              (std::vector<std::int64_t>{10, 20, 10, 20, 30}));
    EXPECT_EQ(f.read<std::string>("/trajectories/metrics"),
              (std::vector<std::string>{"accuracy", "nc1"}));
    const h5::Shape shape = {5, 2};
    EXPECT_EQ(f.read<std::int64_t>("/trajectories/n", shape),
              (std::vector<std::int64_t>{3, 3, 3, 2, 4, 0, 4, 0, 4, 0}));
    const std::vector<double> mean = f.read<double>("/trajectories/mean", shape);
    const std::vector<double> expected = {0.5, 2.0, 0.6, 1.5, 0.4, 0, 0.55, 0, 0.65, 0};
    ASSERT_EQ(mean.size(), expected.size());
    for (std::size_t i = 0; i < mean.size(); ++i) {
        if (i >= 4 && i % 2 == 1) {
            EXPECT_TRUE(std::isnan(mean[i])) << "row " << i / 2 << ": random has no nc1";
        } else {
            EXPECT_EQ(mean[i], expected[i]) << i;
        }
    }
    const std::vector<double> sd = f.read<double>("/trajectories/std", shape);
    const std::vector<double> lo = f.read<double>("/trajectories/t_low", shape);
    const std::vector<double> hi = f.read<double>("/trajectories/t_high", shape);
    EXPECT_DOUBLE_EQ(sd[2], 0.6 / 10);
    EXPECT_DOUBLE_EQ(lo[3], 1.5 - 1);
    EXPECT_DOUBLE_EQ(hi[8], 0.65 + 1);
    EXPECT_TRUE(std::isnan(sd[9]) && std::isnan(lo[9]) && std::isnan(hi[9]));
}

TEST(WriteTrajectories, NothingWithoutTrajectories) {
    sp::test::TempDir dir("traj");
    h5::File f = h5::File::create(dir.file("summary.h5"));
    sp::detail::write_trajectories(f, sp::Reduction{});
    EXPECT_FALSE(f.exists("/trajectories"));
}

TEST(TrajectoriesMarkdown, OneTablePerCondition) {
    EXPECT_EQ(sp::detail::trajectories_markdown(sp::Reduction{}), "");
    const std::string md = sp::detail::trajectories_markdown(two_trajectories());
    EXPECT_EQ(md.rfind("## Trajectories\n", 0), 0U) << md;
    EXPECT_NE(md.find("### al.strategy=margin\n"), std::string::npos) << md;
    EXPECT_NE(md.find("### al.strategy=random\n"), std::string::npos) << md;
    EXPECT_EQ(md.find("baseline"), std::string::npos) << md;
    EXPECT_NE(md.find("| round | labelled | accuracy | nc1 |"), std::string::npos) << md;
    EXPECT_NE(md.find("| 1 | 20 | 0.6 [-0.4, 1.6] (3) | 1.5 [0.5, 2.5] (2) |"), std::string::npos)
        << md;
    EXPECT_NE(md.find("| 2 | 30 | 0.65 [-0.35, 1.65] (4) |"), std::string::npos) << md;
}

} // namespace
