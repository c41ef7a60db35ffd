// al.init = "baseline": an active-learning replicate starts from its seed-paired baseline's final
// weights. The plan's rules (pairing, identity, order, refusal) on plans alone; then a tiny
// synthetic baseline and its dependent run: the dependent's model starts from the baseline's
// stored tensors bit for bit, and a failed baseline makes it fail naming that baseline.
#include "sp/config/sweep.hpp"
#include "sp/io/h5.hpp"
#include "sp/plan/plan.hpp"
#include "sp/sweep/replicate.hpp"
#include "sp/sweep/result_file.hpp"
#include "sp/train/model_init.hpp"
#include "sp/util/error.hpp"

#include "support/temp_dir.hpp"
#include "support/valid.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

namespace {

/// A baseline (unshuffled, as the paper's) and `strategies`, `seeds` seeds, al.init as given.
std::string sweep_text(const std::string& out_dir, const std::string& init,
                       const std::string& baseline_extra = "", int seeds = 2,
                       const std::string& strategies = "[\"random\"]") {
    std::string text = "[sweep]\nname = \"al-init\"\nseed = 7\nseeds = " + std::to_string(seeds) +
                       "\n[[sweep.variants.strategy]]\nlabel = \"baseline\"\n"
                       "al.strategy = \"baseline\"\ntrain.shuffle = false\n" +
                       baseline_extra;
    // One variant per active-learning strategy.
    std::string list = strategies.substr(1, strategies.size() - 2);
    for (std::size_t at = 0; at < list.size();) {
        const std::size_t q1 = list.find('"', at);
        if (q1 == std::string::npos) break;
        const std::size_t q2 = list.find('"', q1 + 1);
        const std::string s = list.substr(q1 + 1, q2 - q1 - 1);
        text += "[[sweep.variants.strategy]]\nlabel = \"" + s + "\"\nal.strategy = \"" + s + "\"\n";
        at = q2 + 1;
    }
    text += "[dataset]\nname = \"synthetic\"\n"
            "[dataset.synthetic]\nclasses = 3\ntrain_size = 48\neval_size = 24\nimage_size = 12\n"
            "[model]\nstem = \"cifar\"\nwidth = 0.0625\n"
            "[train]\nepochs = 1\nbatch_size = 16\n"
            "[al]\ninit = \"" +
            init +
            "\"\ninitial = 24\nquery = 12\n"
            "[metrics]\ntsne.enabled = false\nspaces = [\"raw\"]\n"
            "[output]\ndir = \"" +
            out_dir + "\"\n";
    return text;
}

sp::Plan plan_of(const std::string& text) { return sp::make_plan(sp::parse_sweep(text, "s.toml")); }

const sp::Replicate& find(const sp::Plan& p, sp::Strategy s, std::uint64_t seed) {
    for (const auto& r : p.replicates) {
        if (r.config.al.strategy == s && r.seed == seed) return r;
    }
    throw std::runtime_error("no such replicate");
}

// Rule: the dependent pairs with the baseline of its seed; baselines keep their IDs; the
// dependent's ID names its baseline's, so another baseline gives another replicate.
TEST(AlInitPlan, PairsBySeedAndNamesTheBaselineInTheId) {
    const sp::Plan pretrained = plan_of(sweep_text("out", "pretrained"));
    const sp::Plan from_baseline = plan_of(sweep_text("out", "baseline"));
    for (std::uint64_t seed : {0, 1}) {
        SCOPED_TRACE(seed);
        const auto& b0 = find(pretrained, sp::Strategy::baseline, seed);
        const auto& b1 = find(from_baseline, sp::Strategy::baseline, seed);
        EXPECT_EQ(b1.id, b0.id) << "a baseline ignores al.init";
        const auto& a0 = find(pretrained, sp::Strategy::random, seed);
        const auto& a1 = find(from_baseline, sp::Strategy::random, seed);
        EXPECT_TRUE(a0.effective.baseline_id.empty());
        EXPECT_EQ(a1.effective.baseline_id, b1.id) << "paired with its own seed's baseline";
        EXPECT_EQ(sp::baseline_of(from_baseline, a1), &b1);
        EXPECT_NE(a1.id, a0.id);
        const std::string text =
            sp::replicate_identity_text(a1.config, a1.effective, from_baseline.sweep_seed, seed);
        EXPECT_NE(text.find("al.init = \"baseline\"\n"), std::string::npos) << text;
        EXPECT_NE(text.find("al.init_baseline = \"" + b1.id +
                            "\"\nreplicate.seed = " + std::to_string(seed) + "\n"),
                  std::string::npos)
            << text;
        const std::string old =
            sp::replicate_identity_text(a0.config, a0.effective, pretrained.sweep_seed, seed);
        EXPECT_EQ(old.find("al.init "), std::string::npos) << "pretrained adds no line: " << old;
        EXPECT_EQ(old.find("al.init_baseline"), std::string::npos) << old;
    }
    // Another baseline (one setting outside the pairing keys differs: al.query of the baseline
    // variant) gives the dependent another ID, its own settings unchanged.
    const sp::Plan other = plan_of(sweep_text("out", "baseline", "al.query = 6\n"));
    EXPECT_NE(find(other, sp::Strategy::baseline, 0).id,
              find(from_baseline, sp::Strategy::baseline, 0).id);
    EXPECT_NE(find(other, sp::Strategy::random, 0).id,
              find(from_baseline, sp::Strategy::random, 0).id);
    // The replicate without a plan has no ID.
    sp::Experiment e = find(from_baseline, sp::Strategy::random, 0).config;
    EXPECT_THROW((void)sp::replicate_id(e, 7, 0), sp::ConfigError);
}

// Rule: a missing baseline refuses the plan, naming the replicate and what is missing.
TEST(AlInitPlan, MissingBaselineIsAConfigError) {
    const std::string text = "[sweep]\nseeds = 1\n[dataset]\nname = \"synthetic\"\n"
                             "[al]\nstrategy = \"margin\"\ninit = \"baseline\"\ninitial = 100\n";
    try {
        (void)plan_of(text);
        FAIL() << "expected a ConfigError";
    } catch (const sp::ConfigError& err) {
        const std::string what = err.what();
        EXPECT_NE(what.find("s.toml:7:1: al.init: replicate #1 {seed=0}"), std::string::npos)
            << what;
        EXPECT_NE(what.find("no replicate with al.strategy = \"baseline\", seed 0"),
                  std::string::npos)
            << what;
    }
    // A baseline whose context differs (train.lr) does not qualify, and the message says why.
    const std::string differs =
        sweep_text("out", "baseline", "train.lr = 0.01\n", 1, "[\"random\"]");
    try {
        (void)plan_of(differs);
        FAIL() << "expected a ConfigError";
    } catch (const sp::ConfigError& err) {
        EXPECT_NE(std::string(err.what()).find("differs in train.lr"), std::string::npos)
            << err.what();
    }
}

// Rule: each baseline is handed out before its dependents, even when they cost more; the table
// shows the dependency.
TEST(AlInitPlan, BaselinesRunFirstAndTheTableShowsTheDependency) {
    const sp::Plan p = plan_of(sweep_text("out", "baseline", "", 2, "[\"random\", \"margin\"]"));
    const std::vector<std::size_t> order = sp::run_order(p.replicates);
    std::vector<std::size_t> position(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
    int dependents = 0;
    for (const auto& r : p.replicates) {
        const sp::Replicate* b = sp::baseline_of(p, r);
        if (b == nullptr) continue;
        ++dependents;
        EXPECT_GT(r.cost, b->cost) << "a test of the order, not of the costs";
        EXPECT_LT(position[b->index], position[r.index]) << r.id << " before its baseline";
    }
    EXPECT_EQ(dependents, 4);
    const std::string table = sp::format_plan(p);
    EXPECT_NE(table.find("from"), std::string::npos) << table;
    EXPECT_NE(table.find("4 replicates start from the final weights"), std::string::npos) << table;
    const std::string tsv = sp::format_plan_tsv(p);
    EXPECT_NE(tsv.find("\tbaseline\t"), std::string::npos) << tsv;
    EXPECT_NE(tsv.find("\t" + find(p, sp::Strategy::baseline, 1).id + "\t"), std::string::npos)
        << tsv;
}

// The dependent's model starts from the baseline's stored final weights, bit for bit; its
// provenance names them; a failed baseline fails it, naming the baseline.
TEST(AlInitRun, StartsFromTheBaselinesFinalWeightsBitForBit) {
    sp::test::TempDir dir("sp-al-init");
    const sp::Plan p = plan_of(sweep_text(dir.path(), "baseline", "", 1));
    const sp::Replicate& b = find(p, sp::Strategy::baseline, 0);
    const sp::Replicate& a = find(p, sp::Strategy::random, 0);
    sp::RunContext ctx;
    ASSERT_EQ(sp::run_replicate(p, b, ctx).status, "complete");
    const sp::ReplicateOutcome o = sp::run_replicate(p, a, ctx);
    ASSERT_EQ(o.status, "complete") << o.message;
    sp::test::expect_valid(sp::result_path(b));
    sp::test::expect_valid(sp::result_path(a));

    const sp::h5::File bf = sp::h5::File::open(sp::result_path(b));
    const sp::h5::File af = sp::h5::File::open(sp::result_path(a));
    const auto recorded =
        bf.open_group("/model/state").read_attribute<std::string>("weights_sha256");
    const sp::h5::Group prov = af.open_group("/provenance");
    EXPECT_EQ(prov.read_attribute<std::string>("baseline_id"), b.id);
    EXPECT_EQ(prov.read_attribute<std::string>("baseline_weights_sha256"), recorded)
        << "the dependent's model, hashed after loading, is the baseline's stored state";
    EXPECT_FALSE(af.exists("/model/state")) << "only baselines keep their weights";
    // The stored state is the baseline's final model: its fc.weight is the class vectors the
    // result file writes from the trained model by another path.
    EXPECT_EQ(
        bf.read<float>("/model/state/parameters/fc.weight", {sp::h5::kAnyDim, sp::h5::kAnyDim}),
        bf.read<float>("/model/class_vectors", {sp::h5::kAnyDim, sp::h5::kAnyDim}));

    // The tensors, compared one by one: the dependent's model as built and loaded.
    sp::ResNet18 model = sp::build_model(a.config.model, 3, a.seeds.init, torch::kCPU);
    const sp::ResNet18 built = sp::build_model(a.config.model, 3, a.seeds.init, torch::kCPU);
    EXPECT_EQ(sp::load_model_state(*model, sp::result_path(b)), recorded);
    int differ_from_built = 0;
    for (const auto& param : model->named_parameters()) {
        const auto v = bf.read<float>(
            "/model/state/parameters/" + param.key(),
            std::vector<std::uint64_t>(param.value().sizes().begin(), param.value().sizes().end()));
        const torch::Tensor stored =
            torch::from_blob(const_cast<float*>(v.data()), param.value().sizes(), torch::kFloat32);
        EXPECT_TRUE(torch::equal(param.value(), stored)) << param.key();
        if (!torch::equal(param.value(), built->named_parameters()[param.key()]))
            ++differ_from_built;
    }
    EXPECT_GT(differ_from_built, 0) << "the baseline's weights are not the built ones";
    for (const auto& buf : model->named_buffers()) {
        if (!buf.value().is_floating_point()) continue;
        const auto v = bf.read<float>(
            "/model/state/buffers/" + buf.key(),
            std::vector<std::uint64_t>(buf.value().sizes().begin(), buf.value().sizes().end()));
        EXPECT_TRUE(
            torch::equal(buf.value(), torch::from_blob(const_cast<float*>(v.data()),
                                                       buf.value().sizes(), torch::kFloat32)))
            << buf.key();
    }
}

TEST(AlInitRun, AFailedBaselineFailsItsDependentsNamingIt) {
    sp::test::TempDir dir("sp-al-init-fail");
    const sp::Plan p = plan_of(sweep_text(dir.path(), "baseline", "", 1));
    const sp::Replicate& b = find(p, sp::Strategy::baseline, 0);
    const sp::Replicate& a = find(p, sp::Strategy::random, 0);
    // What a failed baseline leaves: its result file with status "failed".
    sp::ReplicateResult failed;
    failed.id = b.id;
    failed.status = "failed";
    failed.error = "dataset synthetic: the disk caught fire";
    std::filesystem::create_directories(dir.path());
    sp::write_result_file(sp::result_path(b), failed, 0);

    const sp::ReplicateOutcome o = sp::run_replicate(p, a, sp::RunContext{});
    EXPECT_EQ(o.status, "failed");
    EXPECT_NE(o.message.find("baseline replicate " + b.id), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("which failed: dataset synthetic: the disk caught fire"),
              std::string::npos)
        << o.message;
    const sp::h5::File f = sp::h5::File::open(sp::result_path(a));
    EXPECT_EQ(f.read_attribute<std::string>("status"), "failed");
    EXPECT_EQ(f.read_attribute<std::string>("error"), o.message);

    // An earlier run's failure is cleared before a sweep runs, so the baseline reruns first.
    EXPECT_EQ(sp::clear_failed_baselines(p), 1U);
    EXPECT_FALSE(std::filesystem::exists(sp::result_path(b)));

    // Nobody runs the baseline and a stop is asked: the dependent stops, it does not hang.
    std::filesystem::remove(sp::result_path(a));
    sp::RunContext stop;
    stop.stop_requested = [] { return true; };
    const sp::ReplicateOutcome s = sp::run_replicate(p, a, stop);
    EXPECT_EQ(s.status, "stopped") << s.message;
    EXPECT_NE(s.message.find(b.id), std::string::npos) << s.message;
}

} // namespace
