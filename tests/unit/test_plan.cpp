// plan/: grid expansion, replicate IDs, seed streams and rank assignment.
#include "sp/config/sweep.hpp"
#include "sp/plan/plan.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"
#include "sp/util/rng.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

namespace {

using Coordinates = std::vector<std::pair<std::string, std::string>>;

std::map<Coordinates, std::pair<std::string, std::uint64_t>> ids_by_coordinates(const sp::Plan& p) {
    std::map<Coordinates, std::pair<std::string, std::uint64_t>> out;
    for (const auto& r : p.replicates) out[r.coordinates] = {r.id, r.seeds.init ^ r.seeds.pool};
    return out;
}

// Rule: seeds are mix_seed(mix_seed(sweep seed, replicate seed), stream tag), nothing else.
TEST(Seeds, FollowTheDocumentedDerivation) {
    const sp::SeedStreams s = sp::derive_seeds(123, 4);
    const std::uint64_t r = sp::mix_seed(123, 4);
    EXPECT_EQ(s.pool, sp::mix_seed(r, 1));
    EXPECT_EQ(s.init, sp::mix_seed(r, 2));
    EXPECT_EQ(s.data, sp::mix_seed(r, 3));
    EXPECT_EQ(s.dropout, sp::mix_seed(r, 4));
    EXPECT_EQ(s.tsne, sp::mix_seed(r, 5));
    EXPECT_EQ(sp::derive_seeds(123, 4, 42).tsne, 42U) << "metrics.tsne.seed fixes the t-SNE stream";
    const std::set<std::uint64_t> distinct = {s.pool, s.init, s.data, s.dropout, s.tsne};
    EXPECT_EQ(distinct.size(), 5U);
}

// Rule: conditions that share a seed share every stream (paired comparisons).
TEST(Seeds, SharedAcrossConditionsWithTheSameSeed) {
    const sp::Plan p = sp::make_plan(sp::parse_sweep(
        "[sweep]\nseeds = 2\n[sweep.axes]\n\"al.strategy\" = [\"baseline\", \"random\"]\n"
        "\"train.lr\" = [0.1, 0.01]\n[dataset]\ntrain_subset = 1000\n[al]\ninitial = 100\nquery = "
        "100\n",
        "s.toml"));
    ASSERT_EQ(p.replicates.size(), 8U);
    std::set<std::string> ids;
    for (const auto& a : p.replicates) {
        ids.insert(a.id);
        for (const auto& b : p.replicates) {
            if (a.seed == b.seed) {
                EXPECT_EQ(a.seeds.init, b.seeds.init);
                EXPECT_EQ(a.seeds.pool, b.seeds.pool);
            } else {
                EXPECT_NE(a.seeds.init, b.seeds.init);
            }
        }
    }
    EXPECT_EQ(ids.size(), 8U) << "IDs differ even where seeds are shared";
}

// Rule: IDs and seeds do not depend on the order of keys, tables, axes or variants in the file.
TEST(Ids, IndependentOfOrderInTheFile) {
    const std::string a =
        "[sweep]\nname = \"o\"\nseed = 5\nseeds = [0, 1]\n"
        "[sweep.axes]\n\"train.lr\" = [0.1, 0.01]\n\"al.strategy\" = [\"baseline\", \"margin\"]\n"
        "[[sweep.variants.data]]\nlabel = \"small\"\ndataset.train_subset = "
        "500\ndataset.eval_subset = 100\n"
        "[[sweep.variants.data]]\nlabel = \"large\"\ndataset.train_subset = "
        "1000\ndataset.eval_subset = 200\n"
        "[train]\nepochs = 2\nbatch_size = 32\n[model]\nwidth = 0.5\nstem = \"cifar\"\n"
        "[al]\ninitial = 100\nquery = 100\n";
    const std::string b =
        "[al]\nquery = 100\ninitial = 100\n[model]\nstem = \"cifar\"\nwidth = 0.5\n"
        "[train]\nbatch_size = 32\nepochs = 2\n"
        "[[sweep.variants.data]]\nlabel = \"large\"\ndataset.eval_subset = "
        "200\ndataset.train_subset = 1000\n"
        "[[sweep.variants.data]]\nlabel = \"small\"\ndataset.eval_subset = "
        "100\ndataset.train_subset = 500\n"
        "[sweep.axes]\n\"al.strategy\" = [\"margin\", \"baseline\"]\n\"train.lr\" = [0.01, 0.1]\n"
        "[sweep]\nseeds = [1, 0]\nseed = 5\nname = \"o\"\n";
    const sp::Plan pa = sp::make_plan(sp::parse_sweep(a, "a.toml"));
    const sp::Plan pb = sp::make_plan(sp::parse_sweep(b, "b.toml"));
    ASSERT_EQ(pa.replicates.size(), 16U);
    EXPECT_EQ(ids_by_coordinates(pa), ids_by_coordinates(pb));
}

// Rule: the rank count changes who runs a replicate, never its ID or seeds.
TEST(Ids, IndependentOfRankCount) {
    sp::test::TempDir dir;
    const sp::Sweep s = sp::load_sweep(sp::test::source_path("sweeps/paper.toml"),
                                       {"model.pretrained=" + dir.write("w.pt", "weights")});
    const sp::Plan one = sp::make_plan(s, 1);
    const sp::Plan seven = sp::make_plan(s, 7);
    EXPECT_EQ(ids_by_coordinates(one), ids_by_coordinates(seven));
    std::set<int> used;
    for (const auto& r : seven.replicates) used.insert(r.rank);
    EXPECT_EQ(used.size(), 7U);
}

// Rule: what a replicate computes is in its ID; where files live is not.
TEST(Ids, IdentityKeysOnly) {
    sp::Experiment e;
    const std::string base = sp::replicate_id(e, 1, 0);
    EXPECT_EQ(base.size(), 16U);
    sp::Experiment moved = e;
    moved.output.dir = "elsewhere";
    moved.dataset.root = "/scratch/data";
    moved.train.checkpoint_every = 5;
    EXPECT_EQ(sp::replicate_id(moved, 1, 0), base);
    sp::Experiment changed = e;
    changed.train.lr = 2e-3;
    EXPECT_NE(sp::replicate_id(changed, 1, 0), base);
    // Batching and memory layout change kernels and GEMM shapes, hence last bits: in the ID.
    sp::Experiment batched = e;
    batched.train.eval_batch_size = 64;
    EXPECT_NE(sp::replicate_id(batched, 1, 0), base) << "train.eval_batch_size";
    batched = e;
    batched.al.score_batch_size = 64;
    EXPECT_NE(sp::replicate_id(batched, 1, 0), base) << "al.score_batch_size";
    batched = e;
    batched.dataset.channels_last = true;
    EXPECT_NE(sp::replicate_id(batched, 1, 0), base) << "dataset.channels_last";
    EXPECT_NE(sp::replicate_id(e, 2, 0), base) << "sweep seed";
    EXPECT_NE(sp::replicate_id(e, 1, 1), base) << "replicate seed";
    sp::test::TempDir dir;
    sp::Experiment w1 = e;
    w1.model.pretrained = dir.write("resnet18.pt", "weights");
    EXPECT_NE(sp::replicate_id(w1, 1, 0), base) << "pretrained vs random init";
}

// Rule: the weights enter the ID by content (SHA-256 of the file), not by name or place.
TEST(Identity, WeightsByContent) {
    sp::test::TempDir dir;
    std::string bytes(4096, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 % 251);
    sp::Experiment a;
    a.model.pretrained = dir.write("resnet18.pt", bytes);
    sp::Experiment renamed = a;
    renamed.model.pretrained = dir.write("copy-under-another-name.bin", bytes);
    sp::Experiment changed = a;
    std::string flipped = bytes;
    flipped[2000] = static_cast<char>(flipped[2000] ^ 1);
    changed.model.pretrained = dir.write("resnet18-changed.pt", flipped);
    sp::Experiment same_name = a; // the same name in another directory, other contents
    std::filesystem::create_directory(dir.file("other"));
    same_name.model.pretrained = dir.write("other/resnet18.pt", flipped);

    const std::string id = sp::replicate_id(a, 1, 0);
    EXPECT_EQ(sp::replicate_id(renamed, 1, 0), id) << "a renamed copy is the same replicate";
    EXPECT_NE(sp::replicate_id(changed, 1, 0), id) << "one byte changed is another replicate";
    EXPECT_NE(sp::replicate_id(same_name, 1, 0), id) << "same name, other contents";
    EXPECT_EQ(sp::replicate_id(same_name, 1, 0), sp::replicate_id(changed, 1, 0));

    // The line: "sha256:" and the digest of the bytes, here checked against FIPS 180-4 vectors
    // through a file holding "abc".
    sp::Experiment abc;
    abc.model.pretrained = dir.write("abc.pt", "abc");
    const std::string text = sp::replicate_identity_text(abc, sp::plan_effective(abc), 1, 0);
    EXPECT_NE(text.find("model.pretrained = \"sha256:ba7816bf8f01cfea414140de5dae2223b00361a3"
                        "96177a9cb410ff61f20015ad\"\n"),
              std::string::npos)
        << text;
}

// Rule: a plan that runs needs the weights file; its absence is a ConfigError naming the key,
// the path and where the key was set. A plan only shown names the weights by file name.
TEST(Identity, MissingWeightsFile) {
    sp::test::TempDir dir;
    const std::string missing = dir.file("absent.pt");
    const std::string text = "[model]\npretrained = \"" + missing + "\"\n[sweep]\nseeds = [0, 1]\n";
    try {
        (void)sp::make_plan(sp::parse_sweep(text, "w.toml"));
        FAIL() << "expected a ConfigError";
    } catch (const sp::ConfigError& err) {
        const std::string what = err.what();
        EXPECT_NE(what.find("w.toml:2:1: model.pretrained: " + missing + ": no such file"),
                  std::string::npos)
            << what;
        EXPECT_EQ(err.exit_code(), 2);
    }
    sp::Experiment e;
    e.model.pretrained = missing;
    EXPECT_THROW((void)sp::replicate_id(e, 1, 0), sp::ConfigError);

    const sp::Plan shown =
        sp::make_plan(sp::parse_sweep(text, "w.toml"), 1, sp::MissingWeights::name_only);
    ASSERT_EQ(shown.missing_weights, std::vector<std::string>{missing});
    const std::string id_text = sp::replicate_identity_text(
        shown.replicates[0].config, shown.replicates[0].effective, shown.sweep_seed, 0);
    EXPECT_NE(id_text.find("model.pretrained = \"absent.pt\"\n"), std::string::npos) << id_text;
}

// Rule: each distinct weights file is read once per plan.
TEST(Identity, WeightsHashedOncePerPath) {
    sp::test::TempDir dir;
    const std::string w = dir.write("w.pt", "weights");
    sp::WeightsDigests digests;
    sp::Experiment e;
    e.model.pretrained = w;
    const std::string first = sp::plan_effective(e, digests).pretrained_sha256;
    e.train.lr = 0.5;
    EXPECT_EQ(sp::plan_effective(e, digests).pretrained_sha256, first);
    EXPECT_EQ(digests.files_read(), 1U);
    EXPECT_EQ(first, sp::sha256_hex("weights"));
}

// Rule: the ID's text is every identity key (device and precision as run), the weights (by file
// name when their contents are unknown), then both seeds.
TEST(Identity, ReplicateTextEndsWithTheSeeds) {
    sp::Experiment e;
    e.model.pretrained = "/weights/resnet18.pt";
    e.output.dir = "elsewhere";
    e.train.precision = sp::Precision::fp16;
    const sp::EffectiveSettings run = sp::resolve_effective(e, false); // contents unknown
    const std::string text = sp::replicate_identity_text(e, run, 7, 3);
    EXPECT_NE(text.find("model.pretrained = \"resnet18.pt\"\n"), std::string::npos) << text;
    EXPECT_NE(text.find("train.device = \"cpu\"\n"), std::string::npos) << "auto, as planned";
    EXPECT_NE(text.find("train.precision = \"fp32\"\n"), std::string::npos) << "fp16 on a CPU";
    EXPECT_EQ(text.find("output.dir"), std::string::npos) << "a location, not an identity key";
    const std::string tail = "sweep.seed = 7\nreplicate.seed = 3\n";
    ASSERT_GE(text.size(), tail.size());
    EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
    EXPECT_EQ(sp::replicate_id(e, run, 7, 3), sp::sha256_hex(text, 8));
    EXPECT_EQ(text, sp::condition_key(e, run, 7) + "replicate.seed = 3\n")
        << "a condition is the replicate without its seed index";
}

// Rule: `auto` and the precision resolve to what runs; the plan resolves without CUDA.
TEST(Identity, EffectiveSettingsResolveAutoAndPrecision) {
    sp::Experiment e; // train.device = "auto"
    e.train.precision = sp::Precision::fp16;
    const sp::EffectiveSettings cpu = sp::resolve_effective(e, /*cuda_available=*/false);
    const sp::EffectiveSettings gpu = sp::resolve_effective(e, /*cuda_available=*/true);
    EXPECT_EQ(cpu.device, "cpu");
    EXPECT_EQ(cpu.precision, sp::Precision::fp32) << "the CPU trains in fp32";
    EXPECT_EQ(gpu.device, "cuda");
    EXPECT_EQ(gpu.precision, sp::Precision::fp16);
    EXPECT_NE(sp::replicate_id(e, cpu, 1, 0), sp::replicate_id(e, gpu, 1, 0))
        << "a CPU run of an fp16 config is not a CUDA fp16 run";
    EXPECT_EQ(sp::plan_effective(e).device, "cpu") << "auto is cpu at plan time";

    sp::Experiment fp32_cpu = e;
    fp32_cpu.train.precision = sp::Precision::fp32;
    fp32_cpu.train.device = sp::DeviceChoice::cpu;
    EXPECT_EQ(sp::replicate_id(fp32_cpu, 1, 0), sp::replicate_id(e, 1, 0))
        << "auto+fp16 on a CPU computes exactly what cpu+fp32 computes";

    sp::Experiment forced = e;
    forced.train.device = sp::DeviceChoice::cuda;
    EXPECT_EQ(sp::resolve_effective(forced, false).device, "cuda") << "cuda asked for is cuda";
    EXPECT_EQ(sp::plan_effective(forced).precision, sp::Precision::fp16);
    EXPECT_EQ(sp::replicate_id(forced, 1, 0), sp::replicate_id(e, gpu, 1, 0));
    forced.train.device = sp::DeviceChoice::cpu;
    EXPECT_EQ(sp::resolve_effective(forced, true).device, "cpu") << "cpu asked for is cpu";
}

// Audit: every key that is not in the ID says why changing it changes no computed number. A new
// key fails here until someone decides: in the ID (Field::identity), or listed with its reason.
TEST(Identity, EveryKeyOutsideTheIdHasAReason) {
    const std::map<std::string, std::string> reasons = {
        {"dataset.root", "location: where the source files are"},
        {"dataset.cache", "location: an HDF5 copy of the decoded source, same tensors"},
        {"model.pretrained", "location; the weights enter the ID by content (SHA-256) instead"},
        {"train.checkpoint_every", "checkpoints save and restore state bit for bit"},
        {"train.eval_every",
         "evaluation runs in eval mode without gradients or random draws: weights and every "
         "later number are the same (test_trainer_stop); only /history eval_accuracy of the "
         "epochs not evaluated reads NaN"},
        {"al.save_pool_outputs", "output only: stores what the queries saw, computes nothing"},
        {"output.dir", "location of the result files"},
        {"output.compression", "lossless deflate of what is stored"},
        {"output.save_embeddings", "output only: whether embeddings are kept in the file"},
    };
    for (const sp::Field& f : sp::fields()) {
        const bool listed = reasons.count(f.key) != 0;
        if (f.identity) {
            EXPECT_FALSE(listed) << f.key << " is in the ID but listed as outside it";
        } else {
            EXPECT_TRUE(listed) << f.key << " is outside the ID with no reason: put it in the "
                                << "ID (Field::identity) or list why it changes no number";
        }
    }
    for (const auto& [key, why] : reasons)
        EXPECT_NE(sp::find_field(key), nullptr) << key << " (" << why << ") is no key";
}

// Rule: the condition key is the replicate's identity without its seed index (it keeps the sweep
// seed); the context key is the
// condition key without the keys a strategy may change (al.*, train.shuffle).
TEST(Identity, ConditionAndContextKeys) {
    const sp::Plan p = sp::make_plan(sp::parse_sweep(
        "[sweep]\nseeds = 2\n[sweep.axes]\n\"al.strategy\" = [\"margin\", \"random\"]\n"
        "[dataset]\ntrain_subset = 1000\n[al]\ninitial = 100\nquery = 100\n",
        "s.toml"));
    ASSERT_EQ(p.replicates.size(), 4U); // margin x {0, 1}, random x {0, 1}
    const sp::Experiment& margin0 = p.replicates[0].config;
    const sp::Experiment& margin1 = p.replicates[1].config;
    const sp::Experiment& random0 = p.replicates[2].config;
    ASSERT_EQ(margin0.al.strategy, sp::Strategy::margin);
    ASSERT_EQ(random0.al.strategy, sp::Strategy::random);

    const sp::EffectiveSettings run = sp::plan_effective(margin0);
    const std::string margin = sp::condition_key(margin0, run, 5);
    EXPECT_EQ(sp::condition_key(margin1, run, 5), margin) << "two seeds, one condition";
    EXPECT_NE(sp::condition_key(random0, run, 5), margin) << "two strategies, two conditions";
    EXPECT_NE(sp::condition_key(margin0, run, 6), margin) << "two sweep seeds, two conditions";
    sp::EffectiveSettings gpu = run;
    gpu.device = "cuda";
    EXPECT_NE(sp::condition_key(margin0, gpu, 5), margin) << "two devices, two conditions";
    sp::Experiment weights = margin0;
    weights.model.pretrained = "/w/resnet18.pt";
    EXPECT_NE(sp::condition_key(weights, run, 5), margin) << "other weights, other condition";
    EXPECT_NE(margin.find("al.strategy = \"margin\"\n"), std::string::npos) << margin;
    EXPECT_NE(margin.find("dataset.train_subset = 1000\n"), std::string::npos) << margin;
    EXPECT_NE(margin.find("sweep.seed = 5\n"), std::string::npos) << margin;
    EXPECT_NE(margin.find("model.pretrained = \"\"\n"), std::string::npos) << margin;
    EXPECT_EQ(margin.find("replicate.seed"), std::string::npos);
    EXPECT_EQ(margin.find("output.dir"), std::string::npos);

    const std::string context = sp::context_key(margin0, run, 5);
    EXPECT_EQ(sp::context_key(random0, run, 5), context) << "strategies of one context are paired";
    EXPECT_NE(sp::context_key(margin0, run, 6), context) << "never paired across sweep seeds";
    EXPECT_NE(context.find("sweep.seed = 5\n"), std::string::npos) << context;
    EXPECT_EQ(context.find("al."), std::string::npos) << context;
    EXPECT_EQ(context.find("train.shuffle"), std::string::npos) << context;
    EXPECT_NE(context.find("dataset.train_subset = 1000\n"), std::string::npos) << context;
    EXPECT_TRUE(sp::is_context_key("train.lr"));
    EXPECT_FALSE(sp::is_context_key("al.query"));
    EXPECT_FALSE(sp::is_context_key("train.shuffle"));

    // condition_settings are the condition key's lines, in the same order (but those omitted
    // from the ID: al.init = "pretrained", the behaviour before the key existed).
    std::string joined;
    for (const auto& [key, value] : sp::condition_settings(margin0, run, 5))
        if (!sp::omitted_from_identity(key, value)) joined += key + " = " + value + "\n";
    EXPECT_EQ(joined, margin);
}

// Rule: a replicate's resolved TOML is a sweep of exactly that replicate.
TEST(ResolvedToml, ReadsBackToTheSameReplicate) {
    sp::test::TempDir dir;
    const std::string weights = dir.write("resnet18.pt", "stand-in weights");
    // al.init = "pretrained": a replicate that starts from its baseline does not plan alone.
    const sp::Plan p =
        sp::make_plan(sp::load_sweep(sp::test::source_path("sweeps/paper.toml"),
                                     {"model.pretrained=" + weights, "al.init=pretrained"}));
    for (std::size_t i : {std::size_t{0}, std::size_t{17}, p.replicates.size() - 1}) {
        const sp::Replicate& r = p.replicates[i];
        const sp::Plan again =
            sp::make_plan(sp::parse_sweep(sp::resolved_toml(p, r), "resolved.toml"));
        ASSERT_EQ(again.replicates.size(), 1U);
        EXPECT_EQ(again.replicates[0].id, r.id);
        EXPECT_EQ(again.replicates[0].seeds.tsne, r.seeds.tsne);
        EXPECT_EQ(again.replicates[0].seeds.data, r.seeds.data);
        EXPECT_EQ(sp::experiment_to_toml(again.replicates[0].config),
                  sp::experiment_to_toml(r.config));
    }
}

// Rule: the paper sweep is datasets x strategies x 10 seeds with the paper's schedules.
TEST(PaperSweep, GridAndSchedules) {
    // Shown, not run: the repository does not hold the weights file paper.toml names.
    const sp::Plan p = sp::make_plan(sp::load_sweep(sp::test::source_path("sweeps/paper.toml")), 1,
                                     sp::MissingWeights::name_only);
    ASSERT_EQ(p.replicates.size(), 2U * 3U * 10U);
    std::set<std::string> ids;
    std::map<std::string, int> per_condition;
    for (const auto& r : p.replicates) {
        ids.insert(r.id);
        per_condition[r.config.dataset.name + "/" +
                      std::string(sp::enum_name(r.config.al.strategy))]++;
        if (r.config.al.strategy == sp::Strategy::least_confidence) {
            const auto sizes = sp::labelled_sizes(r.config);
            if (r.config.dataset.name == "cifar10") {
                ASSERT_EQ(sizes.size(), 10U);
                for (std::size_t k = 0; k < 10; ++k)
                    EXPECT_EQ(sizes[k], 5000 * static_cast<std::int64_t>(k + 1));
                EXPECT_TRUE(r.config.train.shuffle);
            } else {
                ASSERT_EQ(sizes.size(), 10U);
                EXPECT_EQ(sizes.back(), 100000);
                EXPECT_EQ(r.config.dataset.resize, 224);
            }
        } else if (r.config.al.strategy == sp::Strategy::baseline) {
            // test_sweep_rules.cpp: only the CIFAR-10 baseline is unshuffled (a [[sweep.rules]]).
            EXPECT_EQ(r.config.train.shuffle, r.config.dataset.name != "cifar10")
                << "the notebook's CIFAR baseline loader does not shuffle";
        }
    }
    EXPECT_EQ(ids.size(), 60U);
    for (const auto& [condition, n] : per_condition) EXPECT_EQ(n, 10) << condition;
}

TEST(LabelledSizes, RoundsLimitAndRemainder) {
    sp::Experiment e;
    e.dataset.train_subset = 1050;
    e.al.strategy = sp::Strategy::margin;
    e.al.initial = 300;
    e.al.query = 250;
    EXPECT_EQ(sp::labelled_sizes(e), (std::vector<std::int64_t>{300, 550, 800, 1050}));
    e.al.rounds = 2;
    EXPECT_EQ(sp::labelled_sizes(e), (std::vector<std::int64_t>{300, 550, 800}));
    e.al.strategy = sp::Strategy::baseline;
    EXPECT_EQ(sp::labelled_sizes(e), (std::vector<std::int64_t>{1050}));
}

// Rule: longest first, each to the least-loaded rank (hand-worked: LPT on 2 ranks).
TEST(AssignRanks, LongestFirstToLeastLoaded) {
    std::vector<sp::Replicate> reps(6);
    const double costs[] = {2, 7, 4, 5, 3, 1};
    for (std::size_t i = 0; i < reps.size(); ++i) {
        reps[i].cost = costs[i];
        reps[i].id = std::string(1, static_cast<char>('a' + i));
    }
    // By cost: b7 -> r0 (7,0); d5 -> r1 (7,5); c4 -> r1 (7,9); e3 -> r0 (10,9); a2 -> r1 (10,11);
    // f1 -> r0 (11,11).
    EXPECT_EQ(sp::assign_ranks(reps, 2), (std::vector<int>{1, 0, 1, 1, 0, 0}));
    EXPECT_EQ(sp::assign_ranks(reps, 1), (std::vector<int>(6, 0)));
}

TEST(Plan, TableNamesEveryReplicateAndTheTotal) {
    const sp::Plan p =
        sp::make_plan(sp::parse_sweep(sp::embedded_quick_toml(), sp::kEmbeddedQuickName), 2);
    const std::string table = sp::format_plan(p);
    for (const auto& r : p.replicates) EXPECT_NE(table.find(r.id), std::string::npos);
    EXPECT_NE(table.find("9 replicates (3 al.strategy x 3 seeds) on 2 ranks"), std::string::npos)
        << table;
}

} // namespace
