// Active-learning replicates end to end on a tiny synthetic dataset: every strategy's picks
// against an independent computation from what the query saw (tests/e2e/al_oracle.py, with
// Debian's /usr/bin/python3: NumPy and PyTorch), the labelled-set schedule, the paper's schedule,
// and a replicate stopped after every epoch and resumed equal, bit for bit, to an uninterrupted
// one (warm and cold start).
#include "sp/config/sweep.hpp"
#include "sp/io/h5.hpp"
#include "sp/plan/plan.hpp"
#include "sp/sweep/replicate.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"
#include "support/valid.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <set>
#include <string>

namespace {

std::string python() {
    const char* env = std::getenv("SP_PYTHON");
    return env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
}

std::string source_dir() { return sp::test::source_path(""); }

sp::Plan al_plan(const std::string& out_dir, const std::string& strategy,
                 const std::string& extra = "") {
    const std::string text = "[sweep]\nname = \"tiny-al\"\nseed = 3\nseeds = 1\n"
                             "[dataset]\nname = \"synthetic\"\n"
                             "[dataset.synthetic]\nclasses = 4\ntrain_size = 96\neval_size = 40\n"
                             "image_size = 12\nchannels = 3\n"
                             "[model]\nstem = \"cifar\"\nwidth = 0.0625\ndropout = 0.25\n"
                             "[train]\noptimizer = \"adam\"\nlr = 0.003\nbatch_size = 16\n"
                             "eval_batch_size = 40\ncheckpoint_every = 1\nepochs = 2\n"
                             "[al]\nstrategy = \"" +
                             strategy +
                             "\"\ninitial = 32\nquery = 16\nmc_samples = 4\n"
                             "save_pool_outputs = true\n" +
                             extra +
                             "[metrics]\ntsne.perplexity = 5\n"
                             "[output]\ndir = \"" +
                             out_dir + "\"\n";
    return sp::make_plan(sp::parse_sweep(text, "tiny-al.toml"));
}

TEST(AlReplicate, EveryStrategyPicksWhatAnIndependentComputationPicks) {
    if (sp::test::run({python(), "-c", "import numpy, h5py, torch"}).exit_code != 0)
        GTEST_SKIP() << python() << " lacks numpy, h5py or torch";
    for (const char* strategy :
         {"least_confidence", "margin", "entropy", "bald", "coreset", "badge", "random"}) {
        SCOPED_TRACE(strategy);
        sp::test::TempDir dir("sp-al");
        const sp::Plan plan = al_plan(dir.path(), strategy);
        const sp::Replicate& r = plan.replicates[0];
        const sp::ReplicateOutcome o = sp::run_replicate(plan, r, sp::RunContext{});
        ASSERT_EQ(o.status, "complete") << o.message;
        const std::string path = sp::result_path(r);
        sp::test::expect_valid(path);
        const sp::h5::File f = sp::h5::File::open(path);
        EXPECT_EQ(f.read<std::int64_t>("/al/labelled_size"),
                  (std::vector<std::int64_t>{32, 48, 64, 80, 96}));
        EXPECT_EQ(f.read<double>("/history/loss").size(), 10U) << "5 rounds of 2 epochs";
        std::vector<std::int64_t> labelled = f.read<std::int64_t>("/al/labelled");
        std::sort(labelled.begin(), labelled.end());
        std::vector<std::int64_t> all(96);
        std::iota(all.begin(), all.end(), 0);
        EXPECT_EQ(labelled, all) << "every image labelled once";
        for (int round = 0; round < 4; ++round) {
            const std::string g = "/al/round_00" + std::to_string(round);
            const auto hist = f.read<std::int64_t>(g + "/queried_class_histogram");
            EXPECT_EQ(std::accumulate(hist.begin(), hist.end(), std::int64_t{0}), 16);
        }
        const auto check =
            sp::test::run({python(), source_dir() + "/tests/e2e/al_oracle.py", path, strategy});
        EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    }
}

struct Final {
    std::vector<float> embeddings;
    std::vector<double> loss;
    std::vector<std::int64_t> labelled;
    std::vector<float> tsne;
};

Final read_final(const std::string& path) {
    const sp::h5::File f = sp::h5::File::open(path);
    return {f.read_array<float>("/eval/embeddings").data, f.read<double>("/history/loss"),
            f.read<std::int64_t>("/al/labelled"),
            f.read_array<float>("/metrics/tsne/embedding").data};
}

void expect_resume_equal(const std::string& strategy, const std::string& extra) {
    SCOPED_TRACE(strategy + " " + extra);
    sp::test::TempDir whole_dir("sp-al-whole");
    sp::test::TempDir split_dir("sp-al-split");
    const sp::Plan whole = al_plan(whole_dir.path(), strategy, extra);
    const sp::Plan split = al_plan(split_dir.path(), strategy, extra);
    ASSERT_EQ(sp::run_replicate(whole, whole.replicates[0], sp::RunContext{}).status, "complete");
    sp::RunContext stop;
    stop.stop_requested = [] { return true; };
    int stops = 0;
    while (true) {
        const sp::ReplicateOutcome o = sp::run_replicate(split, split.replicates[0], stop);
        if (o.status == "complete") break;
        ASSERT_EQ(o.status, "stopped") << o.message;
        // Stops at every batch boundary (40 training batches), after every round's training and
        // at every round boundary: each resume makes progress.
        ASSERT_LT(++stops, 200) << "no progress";
    }
    EXPECT_GE(stops, 9) << "stopped after every epoch (10 in all)";
    const Final a = read_final(sp::result_path(whole.replicates[0]));
    const Final b = read_final(sp::result_path(split.replicates[0]));
    EXPECT_EQ(a.labelled, b.labelled) << "same picks, same order";
    EXPECT_EQ(a.loss, b.loss) << "bit-identical history";
    EXPECT_EQ(a.embeddings, b.embeddings) << "bit-identical embeddings";
    EXPECT_EQ(a.tsne, b.tsne) << "bit-identical t-SNE map";
}

TEST(AlReplicate, StoppedAfterEveryEpochAndResumedEqualsUninterrupted) {
    expect_resume_equal("least_confidence", "start = \"warm\"\n");
    expect_resume_equal("bald", "start = \"cold\"\nround_metrics = true\n");
}

/// The /al records of a pool_subset run: per round the candidates and the picks.
struct SubsetRun {
    std::vector<std::int64_t> labelled;
    std::vector<std::int64_t> labelled_size;
    std::vector<std::vector<std::int64_t>> subsets, picks, pools;
};

SubsetRun run_subset(const std::string& dir, const std::string& strategy) {
    const sp::Plan plan = al_plan(dir, strategy, "pool_subset = 24\n");
    const sp::Replicate& r = plan.replicates[0];
    const sp::ReplicateOutcome o = sp::run_replicate(plan, r, sp::RunContext{});
    EXPECT_EQ(o.status, "complete") << o.message;
    const std::string path = sp::result_path(r);
    sp::test::expect_valid(path);
    const sp::h5::File f = sp::h5::File::open(path);
    SubsetRun run;
    run.labelled = f.read<std::int64_t>("/al/labelled");
    run.labelled_size = f.read<std::int64_t>("/al/labelled_size");
    for (int round = 0; round < 4; ++round) {
        const std::string g = "/al/round_00" + std::to_string(round);
        run.subsets.push_back(f.read<std::int64_t>(g + "/pool_subset_indices"));
        run.picks.push_back(f.read<std::int64_t>(g + "/queried_indices"));
        run.pools.push_back(f.read<std::int64_t>(g + "/pool_indices"));
    }
    EXPECT_FALSE(f.exists("/al/round_004/pool_subset_indices")) << "the last round has no query";
    return run;
}

TEST(AlReplicate, PoolSubsetPicksOnlyRecordedCandidatesReproduciblyWithTheSameBudget) {
    sp::test::TempDir a_dir("sp-al-subset-a");
    sp::test::TempDir b_dir("sp-al-subset-b");
    sp::test::TempDir random_dir("sp-al-subset-random");
    const SubsetRun a = run_subset(a_dir.path(), "least_confidence");
    // 96 images, 32 initial, 16 a round: 64, 48, 32 and 16 unlabelled before rounds 0-3; 24
    // candidates a round while there are more.
    const std::vector<std::size_t> want_sizes{24, 24, 24, 16};
    std::set<std::vector<std::int64_t>> distinct;
    for (std::size_t round = 0; round < 4; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const auto& subset = a.subsets[round];
        EXPECT_EQ(subset.size(), want_sizes[round]);
        EXPECT_TRUE(std::is_sorted(subset.begin(), subset.end()));
        EXPECT_EQ(std::set<std::int64_t>(subset.begin(), subset.end()).size(), subset.size());
        // Candidates are unlabelled at that round: none among the images labelled before it.
        const auto before = static_cast<std::ptrdiff_t>(32 + 16 * round);
        const std::set<std::int64_t> labelled(a.labelled.begin(), a.labelled.begin() + before);
        for (std::int64_t i : subset) {
            EXPECT_GE(i, 0);
            EXPECT_LT(i, 96);
            EXPECT_EQ(labelled.count(i), 0U) << i << " was labelled already";
        }
        // The query saw exactly the candidates and picked among them.
        EXPECT_EQ(a.pools[round], subset);
        const std::set<std::int64_t> candidates(subset.begin(), subset.end());
        EXPECT_EQ(a.picks[round].size(), 16U);
        for (std::int64_t i : a.picks[round]) EXPECT_EQ(candidates.count(i), 1U) << i;
        distinct.insert(subset);
    }
    EXPECT_EQ(distinct.size(), 4U) << "a new subset each round";
    // The picks are the least confident candidates (independent recomputation from the logits).
    const sp::Plan plan = al_plan(a_dir.path(), "least_confidence", "pool_subset = 24\n");
    const auto check = sp::test::run({python(), source_dir() + "/tests/e2e/al_oracle.py",
                                      sp::result_path(plan.replicates[0]), "least_confidence"});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

    // Reproducible: another run, the same candidates and picks.
    const SubsetRun b = run_subset(b_dir.path(), "least_confidence");
    EXPECT_EQ(a.subsets, b.subsets);
    EXPECT_EQ(a.labelled, b.labelled);

    // The random control: candidates drawn the same way (the same pool stream), the same
    // labelling budget every round, picks among its candidates only.
    const SubsetRun c = run_subset(random_dir.path(), "random");
    EXPECT_EQ(c.labelled_size, a.labelled_size);
    EXPECT_EQ(c.labelled_size, (std::vector<std::int64_t>{32, 48, 64, 80, 96}));
    EXPECT_EQ(c.subsets[0], a.subsets[0]) << "round 0: same unlabelled pool, same seed";
    for (std::size_t round = 0; round < 4; ++round) {
        EXPECT_EQ(c.picks[round].size(), a.picks[round].size());
        const std::set<std::int64_t> candidates(c.subsets[round].begin(), c.subsets[round].end());
        for (std::int64_t i : c.picks[round]) EXPECT_EQ(candidates.count(i), 1U) << i;
    }
}

TEST(AlSchedule, PaperScheduleOnCifarShapedData) {
    // sweeps/paper.toml's CIFAR-10 active-learning variant: 5,000 then +5,000 a round to 50,000.
    const sp::Sweep s = sp::load_sweep(source_dir() + "/sweeps/paper.toml");
    // Its weights file is not in the repository: a plan that is only looked at names them by
    // file name (a run would refuse).
    const sp::Plan plan = sp::make_plan(s, 1, sp::MissingWeights::name_only);
    bool cifar = false;
    bool tiny = false;
    for (const sp::Replicate& r : plan.replicates) {
        if (r.config.al.strategy == sp::Strategy::baseline) {
            EXPECT_EQ(sp::labelled_sizes(r.config).size(), 1U);
            continue;
        }
        const auto sizes = sp::labelled_sizes(r.config);
        if (r.config.dataset.name == "cifar10") {
            cifar = true;
            std::vector<std::int64_t> want;
            for (std::int64_t k = 5000; k <= 50000; k += 5000) want.push_back(k);
            EXPECT_EQ(sizes, want);
        } else {
            tiny = true;
            std::vector<std::int64_t> want;
            for (std::int64_t k = 10000; k <= 100000; k += 10000) want.push_back(k);
            EXPECT_EQ(sizes, want);
        }
    }
    EXPECT_TRUE(cifar && tiny);
    // The same on CIFAR-shaped synthetic data.
    sp::Experiment e;
    e.dataset.name = "synthetic";
    e.dataset.synthetic.classes = 10;
    e.dataset.synthetic.train_size = 50000;
    e.al.strategy = sp::Strategy::least_confidence;
    e.al.initial = 5000;
    e.al.query = 5000;
    const auto sizes = sp::labelled_sizes(e);
    ASSERT_EQ(sizes.size(), 10U);
    EXPECT_EQ(sizes.front(), 5000);
    EXPECT_EQ(sizes.back(), 50000);
}

} // namespace
