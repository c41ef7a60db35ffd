// config/: the key registry, sweep files, axes, variants and --set, on well-formed input.
// (Bad input is covered by test_config_errors.cpp through sp_sweep itself.)
#include "sp/config/fields.hpp"
#include "sp/config/sweep.hpp"
#include "sp/plan/plan.hpp"
#include "sp/util/error.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

std::string text_of(const sp::Experiment& e, const std::string& key) {
    return sp::value_to_toml(sp::find_field(key)->get(e));
}

void expect_same(const sp::Experiment& a, const sp::Experiment& b) {
    for (const auto& f : sp::fields()) {
        EXPECT_EQ(sp::value_to_toml(f.get(a)), sp::value_to_toml(f.get(b))) << f.key;
    }
}

// Rule: the registry is complete and coherent.
TEST(Registry, KeysAreSortedUniqueDocumentedAndSettable) {
    std::set<std::string> seen;
    std::string previous;
    for (const auto& f : sp::fields()) {
        EXPECT_TRUE(seen.insert(f.key).second) << f.key;
        EXPECT_LT(previous, f.key);
        previous = f.key;
        EXPECT_FALSE(f.doc.empty()) << f.key;
        sp::Experiment e;
        const sp::Value v = f.get(e);
        EXPECT_EQ(f.check(v), "") << f.key << ": the default must be valid";
        f.set(e, v);
        EXPECT_EQ(sp::value_to_toml(f.get(e)), sp::value_to_toml(v)) << f.key;
    }
    EXPECT_GE(sp::fields().size(), 60U);
    EXPECT_EQ(sp::find_field("train.lr")->kind, sp::Kind::real);
    EXPECT_EQ(sp::find_field("no.such.key"), nullptr);
}

TEST(Registry, EveryKeyIsDocumentedInSweepsReadme) {
    const std::string readme = sp::test::read_file(sp::test::source_path("sweeps/README.md"));
    for (const auto& f : sp::fields()) {
        EXPECT_NE(readme.find("`" + f.key + "`"), std::string::npos)
            << f.key << " is not in sweeps/README.md";
    }
}

// Rule: the resolved TOML of an experiment reads back to the same experiment.
TEST(ExperimentToml, DefaultsRoundTrip) {
    const sp::Experiment defaults;
    const sp::Sweep s = sp::parse_sweep(sp::experiment_to_toml(defaults), "resolved.toml");
    expect_same(s.base, defaults);
    EXPECT_EQ(s.base_sources.size(), sp::fields().size()) << "every key is written";
}

TEST(ExperimentToml, NonDefaultsRoundTrip) {
    sp::Experiment e;
    e.dataset.name = "cifar10";
    e.dataset.mean = {0.4914, 0.4822, 0.4465};
    e.dataset.std = {0.2023, 0.1994, 0.2010};
    e.dataset.root = "data/with \"quotes\" and \\ backslash";
    e.train.lr = 1.0 / 3.0;
    e.train.epochs = 7;
    e.model.extra_layers = {"layer3", "layer4"};
    e.metrics.spaces = {"tsne"};
    e.metrics.tsne.seed = 42;
    const sp::Sweep s = sp::parse_sweep(sp::experiment_to_toml(e), "resolved.toml");
    expect_same(s.base, e);
    EXPECT_EQ(s.base.train.lr, 1.0 / 3.0) << "doubles survive bit for bit";
}

// Rule: precedence is defaults < base < variant < axis < --set.
TEST(Sweep, PrecedenceAndSources) {
    const std::string text = "[train]\n"
                             "lr = 0.5\n"
                             "epochs = 4\n"
                             "batch_size = 64\n"
                             "[[sweep.variants.v]]\n"
                             "label = \"only\"\n"
                             "train.epochs = 5\n"
                             "[sweep.axes]\n"
                             "\"train.batch_size\" = [16]\n";
    const sp::Sweep s = sp::parse_sweep(text, "p.toml", {"train.lr=0.25"});
    EXPECT_EQ(s.base.train.lr, 0.5);
    EXPECT_EQ(s.base_sources.at("train.lr").describe(), "p.toml:2:1");
    const sp::Plan p = sp::make_plan(s);
    ASSERT_EQ(p.replicates.size(), 1U);
    const sp::Replicate& r = p.replicates[0];
    EXPECT_EQ(r.config.train.lr, 0.25) << "--set beats the base";
    EXPECT_EQ(r.config.train.epochs, 5) << "a variant beats the base";
    EXPECT_EQ(r.config.train.batch_size, 16) << "an axis beats the base";
    EXPECT_EQ(r.config.train.optimizer, sp::Optimizer::adam)
        << "untouched keys keep their defaults";
    EXPECT_EQ(r.sources.at("train.lr").describe(), "--set train.lr=0.25");
    EXPECT_EQ(r.sources.at("train.epochs").describe(), "p.toml:7:7");
    EXPECT_EQ(r.sources.at("train.batch_size").describe(), "p.toml:9:23");
}

TEST(Sweep, OverrideOfSweptKeyCollapsesTheAxis) {
    const std::string text = "[sweep.axes]\n\"train.lr\" = [0.1, 0.2]\n\"train.epochs\" = [1, 2]\n";
    const sp::Sweep s = sp::parse_sweep(text, "a.toml", {"train.lr=0.3"});
    ASSERT_EQ(s.axes.size(), 1U);
    EXPECT_EQ(s.axes[0].name, "train.epochs");
}

TEST(Sweep, OverrideValueForms) {
    const sp::Sweep s = sp::parse_sweep(
        "", "o.toml",
        {"dataset.name=cifar10", "output.dir=\"out dir\"", "metrics.spaces=[\"tsne\"]",
         "train.lr=1", "train.shuffle=false", "dataset.mean=[0.5]", "dataset.std=[0.25]",
         "sweep.seeds=[4, 2]", "sweep.seed=99", "sweep.name=renamed"});
    sp::Experiment e = s.base;
    for (const auto& o : s.overrides) sp::find_field(o.key)->set(e, o.value);
    EXPECT_EQ(e.dataset.name, "cifar10");
    EXPECT_EQ(e.output.dir, "out dir");
    EXPECT_EQ(e.metrics.spaces, std::vector<std::string>{"tsne"});
    EXPECT_EQ(e.train.lr, 1.0) << "an integer is a valid float";
    EXPECT_FALSE(e.train.shuffle);
    EXPECT_EQ(s.seeds, (std::vector<std::uint64_t>{4, 2}));
    EXPECT_EQ(s.seed, 99U);
    EXPECT_EQ(s.name, "renamed");
}

TEST(Sweep, SeedsCountOrList) {
    EXPECT_EQ(sp::parse_sweep("[sweep]\nseeds = 3\n", "s.toml").seeds,
              (std::vector<std::uint64_t>{0, 1, 2}));
    EXPECT_EQ(sp::parse_sweep("[sweep]\nseeds = [7, 3]\n", "s.toml").seeds,
              (std::vector<std::uint64_t>{7, 3}));
    EXPECT_EQ(sp::parse_sweep("", "s.toml").seeds, (std::vector<std::uint64_t>{0}));
    EXPECT_EQ(sp::parse_sweep("", "dir/my-sweep.toml").name, "my-sweep")
        << "name defaults to the file stem";
}

TEST(Sweep, NestedAndQuotedAxisKeysAreTheSame) {
    const sp::Sweep a = sp::parse_sweep("[sweep.axes]\n\"train.lr\" = [0.1, 0.2]\n", "a.toml");
    const sp::Sweep b = sp::parse_sweep("[sweep.axes.train]\nlr = [0.1, 0.2]\n", "b.toml");
    ASSERT_EQ(a.axes.size(), 1U);
    ASSERT_EQ(b.axes.size(), 1U);
    EXPECT_EQ(a.axes[0].name, b.axes[0].name);
    EXPECT_EQ(a.axes[0].labels, b.axes[0].labels);
}

TEST(Sweep, AxesAreSortedByName) {
    const sp::Sweep s =
        sp::parse_sweep("[sweep.axes]\n\"train.lr\" = [0.1]\n\"al.strategy\" = [\"random\"]\n"
                        "[[sweep.variants.data]]\nlabel = \"x\"\ndataset.eval_subset = 10\n",
                        "a.toml");
    ASSERT_EQ(s.axes.size(), 3U);
    EXPECT_EQ(s.axes[0].name, "al.strategy");
    EXPECT_EQ(s.axes[1].name, "data");
    EXPECT_EQ(s.axes[2].name, "train.lr");
    EXPECT_TRUE(s.axes[1].is_variant);
}

TEST(Sweep, ListAxisTakesArraysOfArrays) {
    const sp::Sweep s = sp::parse_sweep(
        "[sweep.axes]\n\"metrics.spaces\" = [[\"raw\"], [\"raw\", \"tsne\"]]\n", "l.toml");
    ASSERT_EQ(s.axes.size(), 1U);
    EXPECT_EQ(s.axes[0].labels, (std::vector<std::string>{"[\"raw\"]", "[\"raw\", \"tsne\"]"}));
}

// Rule: sweep.threads pins every replicate's thread count; 0 (the default) leaves it to the node;
// --set overrides it; a negative or non-integer value is an error at its place.
TEST(Sweep, ThreadsPinnedOrLeftToTheNode) {
    EXPECT_EQ(sp::parse_sweep("", "s.toml").threads, 0);
    EXPECT_EQ(sp::parse_sweep("[sweep]\nthreads = 3\n", "s.toml").threads, 3);
    EXPECT_EQ(sp::parse_sweep("[sweep]\nthreads = 3\n", "s.toml", {"sweep.threads=1"}).threads, 1);
    for (const char* bad : {"[sweep]\nthreads = -1\n", "[sweep]\nthreads = 1.5\n"}) {
        try {
            sp::parse_sweep(bad, "t.toml");
            ADD_FAILURE() << "no error for " << bad;
        } catch (const sp::ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find("t.toml:2:1: sweep.threads"), std::string::npos)
                << e.what();
        }
    }
}

TEST(Sweep, ErrorsCarryEveryProblem) {
    try {
        sp::parse_sweep("[train]\nlr = -1\n[model]\nwidth = -2\n", "e.toml");
        FAIL() << "no error";
    } catch (const sp::ConfigError& e) {
        EXPECT_EQ(e.exit_code(), 2);
        const std::string m = e.what();
        EXPECT_NE(m.find("e.toml:2:1: train.lr"), std::string::npos) << m;
        EXPECT_NE(m.find("e.toml:4:1: model.width"), std::string::npos) << m;
    }
}

// Rule: the embedded default is sweeps/quick.toml, byte for byte.
TEST(Embedded, QuickTomlIsTheFileInTheTree) {
    EXPECT_EQ(std::string(sp::embedded_quick_toml()),
              sp::test::read_file(sp::test::source_path("sweeps/quick.toml")));
}

// Rule: the shipped sweeps parse.
TEST(ShippedSweeps, Parse) {
    for (const char* name : {"sweeps/quick.toml", "sweeps/paper.toml", "sweeps/rigorous.toml"}) {
        EXPECT_NO_THROW(sp::load_sweep(sp::test::source_path(name))) << name;
    }
    const sp::Sweep paper = sp::load_sweep(sp::test::source_path("sweeps/paper.toml"));
    EXPECT_EQ(paper.seeds.size(), 10U);
    EXPECT_EQ(text_of(paper.base, "train.optimizer"), "\"adam\"");
    EXPECT_EQ(paper.base.train.lr, 1e-3);
    EXPECT_EQ(paper.base.train.batch_size, 128);
    EXPECT_EQ(paper.base.train.epochs, 20);
    EXPECT_EQ(paper.base.metrics.tsne.seed, 42);
}

} // namespace
