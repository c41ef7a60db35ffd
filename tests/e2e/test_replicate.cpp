// A baseline replicate end to end on a tiny synthetic dataset: it learns, its result file passes
// the schema, and a run stopped after an epoch and resumed from its checkpoint ends bit-identical
// to an uninterrupted one.
#include "sp/config/sweep.hpp"
#include "sp/io/h5.hpp"
#include "sp/plan/plan.hpp"
#include "sp/sweep/replicate.hpp"

#include "support/temp_dir.hpp"
#include "support/valid.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace {

sp::Plan tiny_plan(const std::string& out_dir, int epochs = 3) {
    const std::string text =
        "[sweep]\nname = \"tiny\"\nseed = 11\nseeds = 1\n"
        "[dataset]\nname = \"synthetic\"\n"
        "[dataset.synthetic]\nclasses = 4\ntrain_size = 96\neval_size = 48\n"
        "image_size = 16\nchannels = 3\n"
        "[model]\nstem = \"cifar\"\nwidth = 0.125\nextra_layers = [\"layer3\"]\n"
        "[train]\noptimizer = \"adam\"\nlr = 0.003\nbatch_size = 16\n"
        "eval_batch_size = 32\ncheckpoint_every = 1\nepochs = " +
        std::to_string(epochs) + "\n[output]\ndir = \"" + out_dir + "\"\n";
    return sp::make_plan(sp::parse_sweep(text, "tiny.toml"));
}

struct Read {
    std::vector<float> embeddings;
    std::vector<float> logits;
    std::vector<double> loss;
    std::vector<double> eval_accuracy;
    double accuracy = 0;
};

Read read_result(const std::string& path) {
    sp::h5::File f = sp::h5::File::open(path);
    Read r;
    r.embeddings = f.read_array<float>("/eval/embeddings").data;
    r.logits = f.read_array<float>("/eval/logits").data;
    r.loss = f.read<double>("/history/loss");
    r.eval_accuracy = f.read<double>("/history/eval_accuracy");
    r.accuracy = f.open_group("/eval").read_attribute<double>("accuracy");
    return r;
}

TEST(Replicate, LearnsAndWritesAValidResult) {
    sp::test::TempDir dir("sp-replicate");
    const sp::Plan plan = tiny_plan(dir.path());
    ASSERT_EQ(plan.replicates.size(), 1U);
    const sp::Replicate& r = plan.replicates[0];
    const sp::ReplicateOutcome o = sp::run_replicate(plan, r, sp::RunContext{});
    ASSERT_EQ(o.status, "complete") << o.message;
    const std::string path = sp::result_path(r);
    sp::test::expect_valid(path);
    const Read got = read_result(path);
    EXPECT_EQ(got.embeddings.size(), 48U * 64U) << "48 images x 512 * 0.125 features";
    EXPECT_GT(got.accuracy, 0.5) << "4 classes: chance is 0.25";
    EXPECT_EQ(got.loss.size(), 3U);
    EXPECT_LT(got.loss.back(), got.loss.front());
    EXPECT_FALSE(std::filesystem::exists(sp::checkpoint_path(r))) << "the result supersedes it";
    EXPECT_EQ(sp::h5::File::open(path).shape("/eval/extra/layer3"),
              (std::vector<std::uint64_t>{48, 32}))
        << "layer3 of width 0.125: 256 / 8 channels";

    const sp::ReplicateOutcome again = sp::run_replicate(plan, r, sp::RunContext{});
    EXPECT_EQ(again.status, "skipped") << "a complete result is not redone";
}

TEST(Replicate, StoppedAndResumedEqualsUninterrupted) {
    sp::test::TempDir whole_dir("sp-whole");
    sp::test::TempDir split_dir("sp-split");
    const sp::Plan whole = tiny_plan(whole_dir.path());
    const sp::Plan split = tiny_plan(split_dir.path());
    ASSERT_EQ(whole.replicates[0].id, split.replicates[0].id) << "output.dir is not identity";

    ASSERT_EQ(sp::run_replicate(whole, whole.replicates[0], sp::RunContext{}).status, "complete");

    sp::RunContext stop_after_one;
    stop_after_one.stop_requested = [] { return true; };
    const sp::ReplicateOutcome first =
        sp::run_replicate(split, split.replicates[0], stop_after_one);
    ASSERT_EQ(first.status, "stopped") << first.message;
    EXPECT_TRUE(std::filesystem::exists(sp::checkpoint_path(split.replicates[0])));
    EXPECT_FALSE(std::filesystem::exists(sp::result_path(split.replicates[0])));
    const sp::ReplicateOutcome second =
        sp::run_replicate(split, split.replicates[0], stop_after_one);
    ASSERT_EQ(second.status, "stopped") << "stopped again after epoch 2";
    const sp::ReplicateOutcome last =
        sp::run_replicate(split, split.replicates[0], sp::RunContext{});
    ASSERT_EQ(last.status, "complete") << last.message;

    const Read a = read_result(sp::result_path(whole.replicates[0]));
    const Read b = read_result(sp::result_path(split.replicates[0]));
    EXPECT_EQ(a.embeddings, b.embeddings) << "bit-identical embeddings";
    EXPECT_EQ(a.logits, b.logits);
    EXPECT_EQ(a.loss, b.loss) << "bit-identical history";
    EXPECT_EQ(a.eval_accuracy, b.eval_accuracy);
}

TEST(Replicate, DivergedTrainingFailsNamingEpochAndStep) {
    sp::test::TempDir dir("sp-replicate");
    const std::string text = "[dataset]\nname = \"synthetic\"\n"
                             "[dataset.synthetic]\nclasses = 3\ntrain_size = 48\neval_size = 12\n"
                             "image_size = 8\n[model]\nstem = \"cifar\"\nwidth = 0.0625\n"
                             "[train]\noptimizer = \"sgd\"\nlr = 1e30\nmomentum = 0.0\n"
                             "batch_size = 16\nepochs = 2\n[output]\ndir = \"" +
                             dir.path() + "\"\n";
    const sp::Plan plan = sp::make_plan(sp::parse_sweep(text, "nan.toml"));
    const sp::ReplicateOutcome o = sp::run_replicate(plan, plan.replicates[0], sp::RunContext{});
    EXPECT_EQ(o.status, "failed");
    EXPECT_NE(o.message.find("training diverged: loss is"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("at epoch 0, step "), std::string::npos) << o.message;
}

TEST(Replicate, BadDataFailsWithAResultFileNamingTheProblem) {
    sp::test::TempDir dir("sp-replicate");
    const std::string text = "[dataset]\nname = \"cifar10\"\nroot = \"" + dir.file("nowhere") +
                             "\"\n[output]\ndir = \"" + dir.path() + "\"\n";
    const sp::Plan plan = sp::make_plan(sp::parse_sweep(text, "bad.toml"));
    const sp::ReplicateOutcome o = sp::run_replicate(plan, plan.replicates[0], sp::RunContext{});
    EXPECT_EQ(o.status, "failed");
    EXPECT_NE(o.message.find("nowhere"), std::string::npos) << o.message;
    sp::h5::File f = sp::h5::File::open(sp::result_path(plan.replicates[0]));
    EXPECT_EQ(f.read_attribute<std::string>("status"), "failed");
}

} // namespace
