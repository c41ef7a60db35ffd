// A baseline replicate end to end on a tiny synthetic dataset: it learns, its result file passes
// the schema, and a run stopped after an epoch and resumed from its checkpoint ends bit-identical
// to an uninterrupted one. Trust: a resume with another thread count or sp build is refused unless
// allowed (and then recorded); a result file of another replicate is neither skipped nor replaced.
#include "sp/config/sweep.hpp"
#include "sp/io/h5.hpp"
#include "sp/plan/plan.hpp"
#include "sp/sweep/replicate.hpp"
#include "sp/util/error.hpp"
#include "sp/util/version.hpp"

#include "support/temp_dir.hpp"
#include "support/valid.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

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

/// Runs the replicate of `plan` with `threads` threads and stops it after its first epoch: its
/// checkpoint stays.
void checkpoint_after_one_epoch(const sp::Plan& plan, int threads) {
    sp::RunContext stop;
    stop.threads = threads;
    stop.stop_requested = [] { return true; };
    const sp::ReplicateOutcome o = sp::run_replicate(plan, plan.replicates[0], stop);
    ASSERT_EQ(o.status, "stopped") << o.message;
    ASSERT_TRUE(std::filesystem::exists(sp::checkpoint_path(plan.replicates[0])));
}

/// Replaces the string attribute `name` of the root of the HDF5 file at `path`.
void rewrite_attribute(const std::string& path, const std::string& name, const std::string& value) {
    sp::h5::File f = sp::h5::File::open(path, sp::h5::Access::read_write);
    f.write_attribute(name, value);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
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

// Rule: a CPU run's provenance names the machine and the libraries it computed with, as the
// system itself reports them (/proc/cpuinfo, the files of the mapped BLAS).
TEST(Replicate, ProvenanceNamesTheMachineAndLibraries) {
    sp::test::TempDir dir("sp-provenance");
    const sp::Plan plan = tiny_plan(dir.path(), /*epochs=*/1);
    sp::RunContext ctx;
    ctx.threads = 2;
    ctx.ranks = 3;
    ASSERT_EQ(sp::run_replicate(plan, plan.replicates[0], ctx).status, "complete");
    const sp::h5::File f = sp::h5::File::open(sp::result_path(plan.replicates[0]));
    const sp::h5::Group p = f.open_group("/provenance");
    EXPECT_EQ(p.read_attribute<std::int32_t>("threads"), 2);
    EXPECT_EQ(p.read_attribute<std::int32_t>("ranks"), 3);

    std::string model = "unknown";
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            model = line.substr(line.find(':') + 2);
            break;
        }
    }
    EXPECT_EQ(p.read_attribute<std::string>("cpu_model"), model);
    EXPECT_EQ(p.read_attribute<std::string>("device_name"), model) << "on the CPU: its model";
    EXPECT_EQ(p.read_attribute<std::string>("gpu_model"), "");

    // LibTorch needs a BLAS: each recorded path is a file whose name says so.
    const std::string blas = p.read_attribute<std::string>("blas");
    ASSERT_FALSE(blas.empty());
    if (blas.rfind("BLAS_INFO=", 0) != 0) {
        std::size_t begin = 0;
        while (begin <= blas.size()) {
            const std::size_t end = std::min(blas.find("; ", begin), blas.size());
            const std::string file = blas.substr(begin, end - begin);
            EXPECT_TRUE(std::filesystem::is_regular_file(file)) << file;
            EXPECT_TRUE(contains(std::filesystem::path(file).filename().string(), "blas") ||
                        contains(file, "mkl") || contains(file, "blis"))
                << file;
            begin = end + 2;
        }
    }
    const std::string capability = p.read_attribute<std::string>("cpu_capability");
    EXPECT_TRUE(capability == "DEFAULT" || capability == "AVX2" || capability == "AVX512" ||
                capability == "VSX" || capability == "ZVECTOR")
        << capability;
    // tiny_plan is deterministic: sp sets CUBLAS_WORKSPACE_CONFIG, and records it.
    EXPECT_TRUE(contains(p.read_attribute<std::string>("environment"), "CUBLAS_WORKSPACE_CONFIG="))
        << p.read_attribute<std::string>("environment");
    EXPECT_FALSE(p.read_attribute<std::string>("compiler").empty());
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
    EXPECT_EQ(o.exit_code, 3) << "a failure of the run, not bad input";
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
    EXPECT_EQ(o.exit_code, 3) << "a bad data path fails the replicate, the sweep goes on (exit 3)";
    EXPECT_NE(o.message.find("nowhere"), std::string::npos) << o.message;
    sp::h5::File f = sp::h5::File::open(sp::result_path(plan.replicates[0]));
    EXPECT_EQ(f.read_attribute<std::string>("status"), "failed");
}

TEST(Replicate, ResumeWithAnotherThreadCountIsRefusedUnlessAllowed) {
    sp::test::TempDir dir("sp-threads");
    const sp::Plan plan = tiny_plan(dir.path());
    const sp::Replicate& r = plan.replicates[0];
    checkpoint_after_one_epoch(plan, /*threads=*/1);

    sp::RunContext two;
    two.threads = 2;
    const sp::ReplicateOutcome refused = sp::run_replicate(plan, r, two);
    EXPECT_EQ(refused.status, "failed");
    EXPECT_EQ(refused.exit_code, 2) << "a refused resume is bad input";
    EXPECT_TRUE(contains(refused.message, "with 1 LibTorch thread(s), this run has 2"))
        << refused.message;
    EXPECT_TRUE(contains(refused.message, "--allow-thread-change")) << refused.message;
    EXPECT_TRUE(std::filesystem::exists(sp::checkpoint_path(r))) << "the checkpoint is kept";

    two.allow_thread_change = true;
    const sp::ReplicateOutcome resumed = sp::run_replicate(plan, r, two);
    ASSERT_EQ(resumed.status, "complete") << resumed.message;
    EXPECT_EQ(resumed.exit_code, 0);
    const std::string path = sp::result_path(r);
    sp::test::expect_valid(path);
    const sp::h5::File f = sp::h5::File::open(path);
    const sp::h5::Group p = f.open_group("/provenance");
    EXPECT_EQ(p.read_attribute<std::int32_t>("threads"), 2);
    EXPECT_EQ(p.read_attribute<std::int32_t>("ranks"), 1);
    EXPECT_EQ(p.read_attribute<std::string>("thread_changes"), "1->2");
    EXPECT_FALSE(p.has_attribute("version_changes"));
}

TEST(Replicate, AResultOfAnotherReplicateIsNeitherSkippedNorOverwritten) {
    sp::test::TempDir dir("sp-other-id");
    const sp::Plan plan = tiny_plan(dir.path(), /*epochs=*/1);
    const sp::Replicate& r = plan.replicates[0];
    ASSERT_EQ(sp::run_replicate(plan, r, sp::RunContext{}).status, "complete");
    const std::string path = sp::result_path(r);
    const std::string other = "0123456789abcdef";
    ASSERT_NE(other, r.id);
    rewrite_attribute(path, "replicate_id", other);
    sp::test::expect_valid(path); // a valid, complete file: only its ID is wrong

    const sp::ReplicateOutcome o = sp::run_replicate(plan, r, sp::RunContext{});
    EXPECT_EQ(o.status, "failed") << "not skipped as complete";
    EXPECT_EQ(o.exit_code, 2) << "a refused skip is bad input";
    EXPECT_TRUE(contains(o.message, path)) << o.message;
    EXPECT_TRUE(contains(o.message, other)) << o.message;
    EXPECT_TRUE(contains(o.message, r.id)) << o.message;
    EXPECT_THROW((void)sp::result_is_complete(path, r.id), sp::DataError);
    const sp::h5::File f = sp::h5::File::open(path);
    EXPECT_EQ(f.read_attribute<std::string>("replicate_id"), other) << "not overwritten";
    EXPECT_EQ(f.read_attribute<std::string>("status"), "complete");
}

TEST(Replicate, ResumeFromAnotherBuildIsRefusedUnlessAllowed) {
    sp::test::TempDir dir("sp-build");
    const sp::Plan plan = tiny_plan(dir.path());
    const sp::Replicate& r = plan.replicates[0];
    checkpoint_after_one_epoch(plan, /*threads=*/1);
    rewrite_attribute(sp::checkpoint_path(r), "git_revision", "0000000");

    sp::RunContext ctx;
    const sp::ReplicateOutcome refused = sp::run_replicate(plan, r, ctx);
    EXPECT_EQ(refused.status, "failed");
    EXPECT_EQ(refused.exit_code, 2) << "a refused resume is bad input";
    EXPECT_TRUE(contains(refused.message, "(0000000)")) << refused.message;
    EXPECT_TRUE(contains(refused.message, "(" + std::string(sp::git_revision()) + ")"))
        << refused.message;
    EXPECT_TRUE(contains(refused.message, "--allow-version-change")) << refused.message;

    ctx.allow_version_change = true;
    const sp::ReplicateOutcome resumed = sp::run_replicate(plan, r, ctx);
    ASSERT_EQ(resumed.status, "complete") << resumed.message;
    const std::string path = sp::result_path(r);
    sp::test::expect_valid(path);
    const sp::h5::File f = sp::h5::File::open(path);
    const sp::h5::Group p = f.open_group("/provenance");
    const std::string v = sp::version();
    EXPECT_EQ(p.read_attribute<std::string>("version_changes"),
              v + " (0000000)->" + v + " (" + sp::git_revision() + ")");
    EXPECT_FALSE(p.has_attribute("thread_changes"));
}

} // namespace
