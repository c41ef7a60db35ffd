// Bad configurations, through sp_sweep as a user runs it: each case asserts exit code 2 and that
// the message names the place (file:line:col, or the --set argument) and the key.
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using sp::test::app;
using sp::test::run;
using sp::test::TempDir;

struct BadConfig {
    const char* name;
    const char* toml;                // written to <tmp>/bad.toml
    std::vector<std::string> sets;   // --set arguments
    std::vector<std::string> expect; // substrings; "@" is replaced by the file's path
};

// clang-format off
const std::vector<BadConfig> kCases = {
    // Syntax: toml++ stops at the first error and gives its position.
    {"unclosed_table_header", "[train\nlr = 1\n", {}, {"@:1:7: syntax error"}},
    {"unterminated_string", "[train]\noptimizer = \"adam\n", {}, {"@:2:18: syntax error"}},
    {"missing_value", "[train]\nlr =\n", {}, {"@:2:5: syntax error", "expected value"}},
    {"duplicate_key", "[train]\nlr = 0.1\nlr = 0.2\n", {}, {"@:3:6: syntax error", "'lr'"}},
    {"duplicate_table", "[train]\nlr = 0.1\n[train]\nepochs = 2\n", {}, {"@:3:1: syntax error", "'train'"}},
    // Types: the key's position and what was expected.
    {"string_for_float", "[train]\nlr = \"fast\"\n", {}, {"@:2:1: train.lr: expected a float, got string \"fast\""}},
    {"float_for_integer", "[train]\nepochs = 2.5\n", {}, {"@:2:1: train.epochs: expected an integer, got float"}},
    {"integer_for_boolean", "[train]\nshuffle = 1\n", {}, {"@:2:1: train.shuffle: expected a boolean"}},
    {"scalar_for_table", "train = 3\n", {}, {"@:1:1: train: is a table of settings"}},
    {"table_for_scalar", "[train.lr]\nx = 1\n", {}, {"@:1:8: train.lr: expected a float, got a table"}},
    {"string_for_list", "[metrics]\nspaces = \"raw\"\n", {}, {"@:2:1: metrics.spaces: expected an array of strings"}},
    // Unknown keys, with a suggestion.
    {"unknown_key", "[train]\nepoch = 3\n", {}, {"@:2:1: train.epoch: unknown key (did you mean \"train.epochs\"?)"}},
    {"unknown_table", "[trian]\nlr = 1\n", {}, {"@:1:2: trian: unknown key (did you mean \"train\"?)"}},
    {"unknown_sweep_key", "[sweep]\nseeed = 1\n", {}, {"@:2:1: sweep.seeed: unknown key (did you mean \"sweep.seed\"?)"}},
    {"unknown_choice", "[train]\noptimizer = \"adamm\"\n", {}, {"@:2:1: train.optimizer: \"adamm\" is not one of", "did you mean \"adam\""}},
    // Ranges.
    {"negative_lr", "[train]\nlr = -0.1\n", {}, {"@:2:1: train.lr: must be > 0"}},
    {"zero_epochs", "[train]\nepochs = 0\n", {}, {"@:2:1: train.epochs: must be >= 1, got 0"}},
    {"dropout_one", "[model]\ndropout = 1.0\n", {}, {"@:2:1: model.dropout: must be in [0.0, 1.0)"}},
    {"compression_12", "[output]\ncompression = 12\n", {}, {"@:2:1: output.compression: must be in [0, 9], got 12"}},
    {"negative_sweep_seed", "[sweep]\nseed = -5\n", {}, {"@:2:1: sweep.seed: must be >= 0, got -5"}},
    {"subset_beyond_dataset", "[dataset]\ntrain_subset = 70000\n", {}, {"@:2:1: dataset.train_subset: 70000 exceeds fashion-mnist's 60000"}},
    {"mean_wrong_length", "[dataset]\nmean = [0.1, 0.2]\nstd = [0.3, 0.3]\n", {}, {"@:2:1: dataset.mean: needs 1 or 3 values, got 2"}},
    // Cross-key rules, reported where the offending key was set.
    {"nesterov_with_adam", "[train]\nnesterov = true\n", {}, {"@:2:1: train.nesterov: needs train.optimizer = \"sgd\""}},
    {"bald_without_dropout", "[al]\nstrategy = \"bald\"\n", {}, {"@:2:1: al.strategy: bald needs MC dropout"}},
    {"pool_subset_below_query", "[al]\nstrategy = \"entropy\"\nquery = 500\npool_subset = 100\n", {}, {"@:4:1: al.pool_subset: scores 100 candidates per round, fewer than al.query (500)"}},
    // Axes and seeds.
    {"empty_axis", "[sweep.axes]\n\"train.lr\" = []\n", {}, {"@:2:1: sweep.axes.train.lr: empty axis"}},
    {"axis_unknown_key", "[sweep.axes]\n\"train.lrr\" = [0.1]\n", {}, {"@:2:1: sweep.axes.train.lrr: unknown key in sweep.axes (did you mean \"train.lr\"?)"}},
    {"axis_bad_element", "[sweep.axes]\n\"train.epochs\" = [1, \"two\"]\n", {}, {"@:2:22: train.epochs: expected an integer, got string \"two\""}},
    {"axis_out_of_range_element", "[sweep.axes]\n\"train.lr\" = [0.1, -1]\n", {}, {"@:2:20: train.lr: must be > 0"}},
    {"axis_duplicate_value", "[sweep.axes]\n\"train.lr\" = [0.001, 1e-3]\n", {}, {"@:2:22: sweep.axes.train.lr: value 0.001 is listed twice"}},
    {"axis_not_array", "[sweep.axes]\n\"train.lr\" = 0.1\n", {}, {"@:2:1: sweep.axes.train.lr: an axis is an array of values"}},
    {"zero_seeds", "[sweep]\nseeds = 0\n", {}, {"@:2:1: sweep.seeds: a count must be >= 1, got 0"}},
    {"empty_seed_list", "[sweep]\nseeds = []\n", {}, {"@:2:1: sweep.seeds: empty"}},
    {"duplicate_seed", "[sweep]\nseeds = [1, 2, 1]\n", {}, {"@:2:16: sweep.seeds: seed 1 is listed twice"}},
    {"variant_without_label", "[[sweep.variants.ds]]\ndataset.name = \"cifar10\"\n", {}, {"@:1:1: sweep.variants.ds: every variant needs a label"}},
    {"variant_duplicate_label", "[[sweep.variants.ds]]\nlabel = \"a\"\ntrain.lr = 0.1\n[[sweep.variants.ds]]\nlabel = \"a\"\ntrain.lr = 0.2\n", {}, {"@:4:1: sweep.variants.ds: label \"a\" is used twice"}},
    {"variant_unknown_key", "[[sweep.variants.ds]]\nlabel = \"a\"\ntrain.lrate = 0.1\n", {}, {"@:3:7: train.lrate: unknown key"}},
    {"key_swept_twice", "[sweep.axes]\n\"al.strategy\" = [\"random\"]\n[[sweep.variants.s]]\nlabel = \"x\"\nal.strategy = \"margin\"\n", {}, {"@:3:18: al.strategy: swept by both axis \"al.strategy\" and axis \"s\""}},
    {"identical_replicates", "[[sweep.variants.o]]\nlabel = \"a\"\noutput.dir = \"x\"\n[[sweep.variants.o]]\nlabel = \"b\"\noutput.dir = \"y\"\n", {}, {"@: replicates {o=a, seed=0} and {o=b, seed=0} resolve to the same configuration"}},
    // Overrides: the --set argument is the place.
    {"override_bad_type", "", {"train.lr=abc"}, {"--set train.lr=abc: train.lr: expected a float, got \"abc\""}},
    {"override_unknown_key", "", {"train.lrr=0.1"}, {"--set train.lrr=0.1: train.lrr: unknown key (did you mean \"train.lr\"?)"}},
    {"override_without_equals", "", {"train.lr"}, {"--set train.lr: expected key=value"}},
    {"override_out_of_range", "", {"train.epochs=0"}, {"--set train.epochs=0: train.epochs: must be >= 1, got 0"}},
    {"override_bad_choice", "", {"dataset.name=cifar"}, {"--set dataset.name=cifar: dataset.name: \"cifar\" is not one of", "did you mean \"cifar10\""}},
    {"override_bad_seeds", "", {"sweep.seeds=0"}, {"--set sweep.seeds=0: sweep.seeds: a count must be >= 1"}},
    {"override_float_for_integer", "", {"train.epochs=2.5"}, {"--set train.epochs=2.5: train.epochs: expected an integer"}},
    // Every problem in a file at once, in file order.
    {"all_errors_together", "[train]\nlr = -1\nepochs = 0\n[model]\nwidth = 0\n", {"train.batch_size=0"},
     {"@:2:1: train.lr", "@:3:1: train.epochs", "@:5:1: model.width", "--set train.batch_size=0: train.batch_size", "4 errors in the configuration"}},
};
// clang-format on

// Names the case in gtest's output instead of dumping the struct's bytes.
void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, ExitsTwoNamingPlaceAndKey) {
    const BadConfig& c = GetParam();
    TempDir dir("sp-badcfg");
    const std::string path = dir.write("bad.toml", c.toml);
    std::vector<std::string> argv = {app("sp_sweep"), path, "--dry-run"};
    for (const auto& s : c.sets) {
        argv.emplace_back("--set");
        argv.push_back(s);
    }
    const auto r = run(argv);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(r.out.empty()) << "nothing is planned from a bad file: " << r.out;
    std::size_t last = 0;
    for (std::string want : c.expect) {
        if (const auto at = want.find('@'); at != std::string::npos) want.replace(at, 1, path);
        const auto pos = r.err.find(want);
        EXPECT_NE(pos, std::string::npos) << "missing \"" << want << "\" in:\n" << r.err;
        if (pos != std::string::npos) {
            EXPECT_GE(pos, last) << "out of order: \"" << want << "\" in:\n" << r.err;
            last = pos;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, BadConfigTest, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(BadConfigFile, MissingFile) {
    TempDir dir("sp-badcfg");
    const std::string path = dir.file("nope.toml");
    const auto r = run({app("sp_sweep"), path, "--dry-run"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(path + ": cannot read sweep file: No such file"), std::string::npos)
        << r.err;
}

TEST(BadConfigFile, DirectoryInsteadOfFile) {
    TempDir dir("sp-badcfg");
    const auto r = run({app("sp_sweep"), dir.path(), "--dry-run"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(dir.path() + ": is a directory"), std::string::npos) << r.err;
}

TEST(BadArguments, UnknownFlagExitsTwo) {
    const auto r = run({app("sp_sweep"), "--dry-runn"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--dry-runn"), std::string::npos) << r.err;
}

TEST(BadArguments, ZeroRanksExitsTwo) {
    const auto r = run({app("sp_sweep"), "--dry-run", "--ranks", "0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--ranks"), std::string::npos) << r.err;
}

} // namespace
