// Replicates on cuda:0 (tests/gpu: built only against a CUDA LibTorch, run by
// scripts/gpu-check.sh): a baseline learns in fp32, fp16 (with loss scaling) and bf16 and its
// result file passes the schema and names the GPU; a baseline stopped and resumed from its
// checkpoints ends bit-identical to an uninterrupted one (train.deterministic); an
// active-learning replicate completes its rounds on the GPU.
#include "sp/config/sweep.hpp"
#include "sp/io/h5.hpp"
#include "sp/plan/plan.hpp"
#include "sp/sweep/replicate.hpp"

#include "support/temp_dir.hpp"
#include "support/valid.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

namespace {

sp::Plan cuda_plan(const std::string& out_dir, const std::string& precision,
                   const std::string& al = "") {
    const std::string text =
        "[sweep]\nname = \"tiny-cuda\"\nseed = 5\nseeds = 1\n"
        "[dataset]\nname = \"synthetic\"\n"
        "[dataset.synthetic]\nclasses = 4\ntrain_size = 192\neval_size = 64\n"
        "image_size = 16\nchannels = 3\n"
        "[model]\nstem = \"cifar\"\nwidth = 0.25\n"
        "[train]\ndevice = \"cuda\"\noptimizer = \"adam\"\nlr = 0.003\nbatch_size = 32\n"
        "eval_batch_size = 64\ncheckpoint_every = 1\nepochs = 3\ndeterministic = true\n"
        "precision = \"" +
        precision + "\"\n" + al + "[metrics]\ntsne.perplexity = 5\n[output]\ndir = \"" + out_dir +
        "\"\n";
    return sp::make_plan(sp::parse_sweep(text, "tiny-cuda.toml"));
}

std::vector<float> embeddings(const std::string& path) {
    return sp::h5::File::open(path).read_array<float>("/eval/embeddings").data;
}

class CudaBaseline : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaBaseline, LearnsOnTheGpuAndSaysSo) {
    sp::test::TempDir dir("sp-cuda");
    const sp::Plan plan = cuda_plan(dir.path(), GetParam());
    const sp::Replicate& r = plan.replicates[0];
    const sp::ReplicateOutcome o = sp::run_replicate(plan, r, sp::RunContext{});
    ASSERT_EQ(o.status, "complete") << o.message;
    const std::string path = sp::result_path(r);
    sp::test::expect_valid(path);
    EXPECT_GT(o.accuracy, 0.5) << "4 classes: chance is 0.25";
    sp::h5::File f = sp::h5::File::open(path);
    const auto loss = f.read<double>("/history/loss");
    ASSERT_EQ(loss.size(), 3U);
    for (double l : loss) EXPECT_TRUE(std::isfinite(l));
    EXPECT_LT(loss.back(), loss.front());
    const sp::h5::Group p = f.open_group("/provenance");
    EXPECT_EQ(p.read_attribute<std::string>("device"), "cuda:0");
    EXPECT_FALSE(p.read_attribute<std::string>("cuda_version").empty());
    EXPECT_FALSE(p.read_attribute<std::string>("cuda_driver").empty());
    for (float v : embeddings(path)) ASSERT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaBaseline, ::testing::Values("fp32", "fp16", "bf16"));

TEST(CudaReplicate, StoppedAndResumedEqualsUninterrupted) {
    sp::test::TempDir whole_dir("sp-cuda-whole");
    sp::test::TempDir split_dir("sp-cuda-split");
    const sp::Plan whole = cuda_plan(whole_dir.path(), "fp16");
    const sp::Plan split = cuda_plan(split_dir.path(), "fp16");
    ASSERT_EQ(sp::run_replicate(whole, whole.replicates[0], sp::RunContext{}).status, "complete");
    sp::RunContext stop;
    stop.stop_requested = [] { return true; };
    int stops = 0;
    for (; stops < 20; ++stops) {
        const sp::ReplicateOutcome o = sp::run_replicate(split, split.replicates[0], stop);
        if (o.status != "stopped") break;
    }
    ASSERT_GE(stops, 1) << "a stop request stops the replicate";
    ASSERT_EQ(sp::run_replicate(split, split.replicates[0], sp::RunContext{}).status, "complete");
    EXPECT_EQ(embeddings(sp::result_path(whole.replicates[0])),
              embeddings(sp::result_path(split.replicates[0])))
        << "bit-identical embeddings on the GPU after " << stops << " stops";
}

TEST(CudaReplicate, ActiveLearningRoundsRunOnTheGpu) {
    sp::test::TempDir dir("sp-cuda-al");
    const sp::Plan plan =
        cuda_plan(dir.path(), "fp16",
                  "[al]\nstrategy = \"margin\"\ninitial = 64\nquery = 32\nrounds = 2\nepochs = 2\n"
                  "");
    const sp::ReplicateOutcome o = sp::run_replicate(plan, plan.replicates[0], sp::RunContext{});
    ASSERT_EQ(o.status, "complete") << o.message;
    sp::test::expect_valid(sp::result_path(plan.replicates[0]));
}

} // namespace
