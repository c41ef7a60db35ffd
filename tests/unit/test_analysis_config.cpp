// config/analysis: the [analysis] table of a sweep file. Reading it (values, defaults, every
// bad input with its place), --set analysis.KEY, its TOML, load_analysis, the shipped tables, and
// that it never touches a replicate's identity.
#include "sp/config/analysis.hpp"
#include "sp/config/sweep.hpp"
#include "sp/plan/plan.hpp"
#include "sp/util/error.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using sp::test::TempDir;

/// The ConfigError message parse_sweep throws, or "" when it parses.
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
    try {
        sp::parse_sweep(text, "a.toml", sets);
    } catch (const sp::ConfigError& e) {
        return e.what();
    }
    return "";
}

std::vector<std::string> names_of(const std::vector<sp::Contrast>& cs) {
    std::vector<std::string> out;
    for (const auto& c : cs) out.push_back(c.name());
    return out;
}

/// The shipped quick.toml without its [analysis] table (and what follows it: nothing).
std::string quick_without_analysis() {
    const std::string text = sp::embedded_quick_toml();
    const auto at = text.find("\n[analysis]");
    EXPECT_NE(at, std::string::npos) << "quick.toml declares an [analysis] table";
    return text.substr(0, at + 1);
}

// Rule: with no table, the defaults of the contract.
TEST(AnalysisDefaults, NoTableGivesTheDefaults) {
    const sp::AnalysisSpec a = sp::parse_sweep("[train]\nepochs = 2\n", "d.toml").analysis;
    EXPECT_FALSE(a.declared);
    EXPECT_EQ(a.primary,
              (std::vector<std::string>{"accuracy", "cosine_all_mean", "silhouette_euclidean_tsne",
                                        "davies_bouldin_tsne"}));
    EXPECT_EQ(a.alpha, 0.05);
    EXPECT_EQ(a.test, sp::DeclaredTest::sign_flip);
    EXPECT_EQ(a.power, 0.8);
    EXPECT_TRUE(a.contrasts.empty());
    EXPECT_TRUE(a.equivalence.empty());
    EXPECT_TRUE(a.effect.empty());
    EXPECT_EQ(names_of(sp::contrasts_of(a)),
              (std::vector<std::string>{"al.strategy: * vs baseline", "al.strategy: * vs random"}));
    EXPECT_EQ(names_of(sp::default_contrasts()), names_of(sp::contrasts_of(a)));
    EXPECT_STREQ(sp::declared_test_name(sp::DeclaredTest::sign_flip), "sign_flip");
    EXPECT_STREQ(sp::declared_test_name(sp::DeclaredTest::t), "t");
}

// Rule: every key is read, contrasts in file order with their place.
TEST(AnalysisTable, EveryKeyIsRead) {
    const std::string text = "[sweep.axes]\n"                                             // 1
                             "\"al.strategy\" = [\"baseline\", \"margin\", \"random\"]\n" // 2
                             "[analysis]\n"                                               // 3
                             "primary = [\"accuracy\", \"nc1\"]\n"                        // 4
                             "alpha = 0.01\n"                                             // 5
                             "test = \"t\"\n"                                             // 6
                             "power = 0.9\n"                                              // 7
                             "[[analysis.contrasts]]\n"                                   // 8
                             "factor = \"al.strategy\"\n"                                 // 9
                             "a = \"margin\"\n"                                           // 10
                             "b = \"random\"\n"                                           // 11
                             "[[analysis.contrasts]]\n"                                   // 12
                             "b = \"baseline\"\n"                                         // 13
                             "a = \"*\"\n"                                                // 14
                             "factor = \"al.strategy\"\n"                                 // 15
                             "[analysis.equivalence]\n"                                   // 16
                             "nc1 = 2\n"                                                  // 17
                             "accuracy = 0.005\n"                                         // 18
                             "[analysis.effect]\n"                                        // 19
                             "accuracy = 1e-2\n";                                         // 20
    const sp::AnalysisSpec a = sp::parse_sweep(text, "t.toml").analysis;
    EXPECT_TRUE(a.declared);
    EXPECT_EQ(a.primary, (std::vector<std::string>{"accuracy", "nc1"}));
    EXPECT_EQ(a.alpha, 0.01);
    EXPECT_EQ(a.test, sp::DeclaredTest::t);
    EXPECT_EQ(a.power, 0.9);
    EXPECT_EQ(names_of(a.contrasts), (std::vector<std::string>{"al.strategy: margin vs random",
                                                               "al.strategy: * vs baseline"}));
    ASSERT_EQ(a.contrasts.size(), 2U);
    EXPECT_EQ(a.contrasts[0].source.describe(), "t.toml:8:1");
    EXPECT_EQ(a.contrasts[1].source.describe(), "t.toml:12:1");
    EXPECT_EQ(names_of(sp::contrasts_of(a)), names_of(a.contrasts)) << "declared: no defaults";
    EXPECT_EQ(a.equivalence, (std::map<std::string, double>{{"accuracy", 0.005}, {"nc1", 2.0}}))
        << "an integer is a valid margin";
    EXPECT_EQ(a.effect, (std::map<std::string, double>{{"accuracy", 0.01}}));
}

// Rule: a contrast's levels are the key axis' values as the file writes them without quotes, and
// a variant axis' labels; a factor may be a configuration key that no axis sweeps.
TEST(AnalysisTable, FactorsAndLevels) {
    const std::string axes = "[sweep.axes]\n\"al.start\" = [\"warm\", \"cold\"]\n"
                             "\"train.lr\" = [1e-3, 3e-4]\n"
                             "[[sweep.variants.strategy]]\nlabel = \"lc\"\nal.strategy = "
                             "\"least_confidence\"\n"
                             "[[sweep.variants.strategy]]\nlabel = \"base\"\nal.strategy = "
                             "\"baseline\"\n";
    const std::string contrasts =
        "[[analysis.contrasts]]\nfactor = \"al.start\"\na = \"cold\"\nb = \"warm\"\n"
        "[[analysis.contrasts]]\nfactor = \"train.lr\"\na = \"0.0003\"\nb = \"0.001\"\n"
        "[[analysis.contrasts]]\nfactor = \"strategy\"\na = \"lc\"\nb = \"base\"\n"
        "[[analysis.contrasts]]\nfactor = \"train.epochs\"\na = \"4\"\nb = \"2\"\n";
    const sp::AnalysisSpec a = sp::parse_sweep(axes + contrasts, "f.toml").analysis;
    EXPECT_EQ(names_of(a.contrasts),
              (std::vector<std::string>{"al.start: cold vs warm", "train.lr: 0.0003 vs 0.001",
                                        "strategy: lc vs base", "train.epochs: 4 vs 2"}));
    // Without axes (a file of only [analysis]) nothing is checked against them.
    const std::string only =
        "[[analysis.contrasts]]\nfactor = \"strategy\"\na = \"x\"\nb = \"y\"\n";
    EXPECT_EQ(names_of(sp::parse_sweep(only, "o.toml").analysis.contrasts),
              (std::vector<std::string>{"strategy: x vs y"}));
}

// Rule: every bad input is a ConfigError naming file:line:col and the dotted key.
struct BadAnalysis {
    const char* name;
    std::string toml;
    std::vector<std::string> sets;
    std::vector<std::string> expect; // substrings, in this order
};

void PrintTo(const BadAnalysis& c, std::ostream* os) { *os << c.name; }

const std::string kAxis = "[sweep.axes]\n\"al.strategy\" = [\"baseline\", \"random\", "
                          "\"least_confidence\"]\n"; // 2 lines

// clang-format off
const std::vector<BadAnalysis> kBad = {
    // Unknown keys, with a suggestion.
    {"unknown_key", "[analysis]\nalpah = 0.1\n", {}, {"a.toml:2:1: analysis.alpah: unknown key (did you mean \"analysis.alpha\"?)"}},
    {"unknown_table", "[analysys]\nalpha = 0.1\n", {}, {"a.toml:1:2: analysys: unknown key (did you mean \"analysis\"?)"}},
    {"unknown_contrast_key", "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"random\"\nb = \"baseline\"\nfactr = \"x\"\n", {}, {"a.toml:5:1: analysis.contrasts.factr: unknown key (did you mean \"analysis.contrasts.factor\"?)"}},
    {"not_a_table", "analysis = 3\n", {}, {"a.toml:1:1: analysis: expected a table"}},
    // Scalars.
    {"alpha_zero", "[analysis]\nalpha = 0\n", {}, {"a.toml:2:1: analysis.alpha: must be in (0, 1), got 0.0"}},
    {"alpha_one", "[analysis]\nalpha = 1.0\n", {}, {"a.toml:2:1: analysis.alpha: must be in (0, 1), got 1.0"}},
    {"alpha_nan", "[analysis]\nalpha = nan\n", {}, {"a.toml:2:1: analysis.alpha: must be in (0, 1), got nan"}},
    {"alpha_string", "[analysis]\nalpha = \"0.05\"\n", {}, {"a.toml:2:1: analysis.alpha: expected a float, got string \"0.05\""}},
    {"test_typo", "[analysis]\ntest = \"sign-flip\"\n", {}, {"a.toml:2:1: analysis.test: \"sign-flip\" is not one of sign_flip, t (did you mean \"sign_flip\"?)"}},
    {"test_not_string", "[analysis]\ntest = 1\n", {}, {"a.toml:2:1: analysis.test: expected \"sign_flip\" or \"t\""}},
    {"power_one", "[analysis]\npower = 1\n", {}, {"a.toml:2:1: analysis.power: must be in (0, 1), got 1.0"}},
    {"power_below_alpha", "[analysis]\nalpha = 0.5\npower = 0.4\n", {}, {"a.toml:3:1: analysis.power: power (0.4) must be greater than alpha (0.5)"}},
    {"alpha_above_default_power", "[analysis]\nalpha = 0.9\n", {}, {"a.toml:2:1: analysis.alpha: power (0.8) must be greater than alpha (0.9)"}},
    // primary.
    {"primary_empty", "[analysis]\nprimary = []\n", {}, {"a.toml:2:1: analysis.primary: empty"}},
    {"primary_not_array", "[analysis]\nprimary = \"accuracy\"\n", {}, {"a.toml:2:1: analysis.primary: expected an array of metric names"}},
    {"primary_duplicate", "[analysis]\nprimary = [\"accuracy\", \"nc1\", \"accuracy\"]\n", {}, {"a.toml:2:31: analysis.primary: accuracy is listed twice"}},
    {"primary_not_string", "[analysis]\nprimary = [\"accuracy\", 3]\n", {}, {"a.toml:2:24: analysis.primary: endpoints are strings, got integer 3"}},
    {"primary_bad_name", "[analysis]\nprimary = [\"Accuracy\"]\n", {}, {"a.toml:2:12: analysis.primary: \"Accuracy\" is not a metric name"}},
    {"primary_cosine_full", "[analysis]\nprimary = [\"cosine_full_mean\"]\n", {}, {"a.toml:2:12: analysis.primary: cosine_full_mean is never tested", "duplicates cosine_all_*"}},
    {"primary_kl", "[analysis]\nprimary = [\"tsne_kl_divergence\"]\n", {}, {"a.toml:2:12: analysis.primary: tsne_kl_divergence is never tested", "diagnostic"}},
    {"primary_silhouette_cosine_tsne", "[analysis]\nprimary = [\"silhouette_cosine_tsne\"]\n", {}, {"a.toml:2:12: analysis.primary: silhouette_cosine_tsne is never tested", "origin"}},
    // equivalence and effect.
    {"effect_zero", "[analysis.effect]\naccuracy = 0.0\n", {}, {"a.toml:2:1: analysis.effect.accuracy: must be > 0 and finite"}},
    {"effect_negative", "[analysis.effect]\naccuracy = -0.1\n", {}, {"a.toml:2:1: analysis.effect.accuracy: must be > 0 and finite"}},
    {"effect_inf", "[analysis.effect]\naccuracy = inf\n", {}, {"a.toml:2:1: analysis.effect.accuracy: must be > 0 and finite (raw units of the endpoint), got inf"}},
    {"effect_string", "[analysis.effect]\naccuracy = \"big\"\n", {}, {"a.toml:2:1: analysis.effect.accuracy: expected a float, got string"}},
    {"effect_untested", "[analysis.effect]\ntsne_kl_divergence = 0.1\n", {}, {"a.toml:2:1: analysis.effect.tsne_kl_divergence: tsne_kl_divergence is never tested"}},
    {"equivalence_untested", "[analysis.equivalence]\ncosine_full_std = 0.1\n", {}, {"a.toml:2:1: analysis.equivalence.cosine_full_std: cosine_full_std is never tested"}},
    {"equivalence_bad_name", "[analysis.equivalence]\n\"cosine all\" = 0.1\n", {}, {"a.toml:2:1: analysis.equivalence.cosine all: \"cosine all\" is not a metric name"}},
    {"equivalence_not_table", "[analysis]\nequivalence = 0.1\n", {}, {"a.toml:2:1: analysis.equivalence: expected a table"}},
    // contrasts.
    {"contrasts_not_tables", "[analysis]\ncontrasts = [\"a\"]\n", {}, {"a.toml:2:1: analysis.contrasts: expected an array of tables"}},
    {"contrasts_empty", "[analysis]\ncontrasts = []\n", {}, {"a.toml:2:1: analysis.contrasts: empty"}},
    {"contrast_missing_b", "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"random\"\n", {}, {"a.toml:1:1: analysis.contrasts: every contrast needs b"}},
    {"contrast_empty_a", "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"\"\nb = \"random\"\n", {}, {"a.toml:3:1: analysis.contrasts.a: expected a non-empty string"}},
    {"contrast_a_equals_b", "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"random\"\nb = \"random\"\n", {}, {"a.toml:4:1: analysis.contrasts.b: a and b are the same level \"random\""}},
    {"contrast_b_star", "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"random\"\nb = \"*\"\n", {}, {"a.toml:4:1: analysis.contrasts.b: b is one level"}},
    {"contrast_twice", kAxis + "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"random\"\nb = \"baseline\"\n[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"random\"\nb = \"baseline\"\n", {}, {"a.toml:7:1: analysis.contrasts: \"al.strategy: random vs baseline\" is declared twice"}},
    {"contrast_unknown_factor", kAxis + "[[analysis.contrasts]]\nfactor = \"al.stratgy\"\na = \"random\"\nb = \"baseline\"\n", {}, {"a.toml:4:1: analysis.contrasts.factor: \"al.stratgy\" is neither an axis of this sweep nor a configuration key (did you mean \"al.strategy\"?)"}},
    {"contrast_unknown_level", kAxis + "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"least_confidance\"\nb = \"baseline\"\n", {}, {"a.toml:5:1: analysis.contrasts.a: \"least_confidance\" is not a level of axis \"al.strategy\" (its levels: baseline, random, least_confidence) (did you mean \"least_confidence\"?)"}},
    {"contrast_unknown_b_level", kAxis + "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"*\"\nb = \"margin\"\n", {}, {"a.toml:6:1: analysis.contrasts.b: \"margin\" is not a level of axis \"al.strategy\""}},
    // --set analysis.KEY: the argument is the place.
    {"set_out_of_range", "", {"analysis.alpha=2"}, {"--set analysis.alpha=2: analysis.alpha: must be in (0, 1), got 2.0"}},
    {"set_not_a_number", "", {"analysis.power=high"}, {"--set analysis.power=high: analysis.power: expected a float, got \"high\""}},
    {"set_bad_test", "", {"analysis.test=wilcoxon"}, {"--set analysis.test=wilcoxon: analysis.test: \"wilcoxon\" is not one of sign_flip, t"}},
    {"set_unknown", "", {"analysis.alpah=0.1"}, {"--set analysis.alpah=0.1: analysis.alpah: unknown key (did you mean \"analysis.alpha\"?)"}},
    {"set_list_refused", "", {"analysis.primary=[\"accuracy\"]"}, {"analysis.primary: cannot be set with --set", "edit the sweep file's [analysis] table"}},
    {"set_table_refused", "", {"analysis.effect.accuracy=0.1"}, {"analysis.effect.accuracy: cannot be set with --set"}},
    {"set_power_below_file_alpha", "[analysis]\nalpha = 0.1\n", {"analysis.power=0.05"}, {"--set analysis.power=0.05: analysis.power: power (0.05) must be greater than alpha (0.1)"}},
    // Every problem at once, in file order, the --set ones last.
    {"all_together", "[analysis]\nalpha = 2\ntest = \"z\"\n[analysis.effect]\nnc1 = -1\n", {"analysis.power=7"},
     {"a.toml:2:1: analysis.alpha", "a.toml:3:1: analysis.test", "a.toml:5:1: analysis.effect.nc1", "--set analysis.power=7", "4 errors"}},
};
// clang-format on

class BadAnalysisTest : public ::testing::TestWithParam<BadAnalysis> {};

TEST_P(BadAnalysisTest, ConfigErrorNamingPlaceAndKey) {
    const BadAnalysis& c = GetParam();
    const std::string m = error_of(c.toml, c.sets);
    ASSERT_FALSE(m.empty()) << "parsed without an error";
    std::size_t last = 0;
    for (const auto& want : c.expect) {
        const auto pos = m.find(want);
        EXPECT_NE(pos, std::string::npos) << "missing \"" << want << "\" in:\n" << m;
        if (pos != std::string::npos) {
            EXPECT_GE(pos, last) << "out of order: \"" << want << "\" in:\n" << m;
            last = pos;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, BadAnalysisTest, ::testing::ValuesIn(kBad),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// Rule: the untested metrics are exactly the ones the contract names.
TEST(AnalysisTable, UntestedMetrics) {
    for (const char* m : {"cosine_full_mean", "cosine_full_std", "cosine_full_q25",
                          "tsne_kl_divergence", "silhouette_cosine_tsne"})
        EXPECT_TRUE(sp::is_untested_metric(m)) << m;
    for (const char* m : {"accuracy", "cosine_all_mean", "silhouette_cosine_raw",
                          "silhouette_euclidean_tsne", "davies_bouldin_tsne", "cosine_fullmean"})
        EXPECT_FALSE(sp::is_untested_metric(m)) << m;
}

// Rule: --set sets the scalar keys, in any order (power > alpha is checked after all of them),
// and counts as a declaration.
TEST(AnalysisOverrides, ScalarKeys) {
    const sp::AnalysisSpec a = sp::parse_sweep("", "s.toml",
                                               {"analysis.alpha=0.9", "analysis.power=0.95",
                                                "analysis.test=t", "train.epochs=2"})
                                   .analysis;
    EXPECT_TRUE(a.declared);
    EXPECT_EQ(a.alpha, 0.9);
    EXPECT_EQ(a.power, 0.95);
    EXPECT_EQ(a.test, sp::DeclaredTest::t) << "a bare word is the string";
    const sp::Sweep quick = sp::parse_sweep(sp::embedded_quick_toml(), "q.toml",
                                            {"analysis.test=\"t\"", "analysis.alpha=1e-2"});
    EXPECT_EQ(quick.analysis.test, sp::DeclaredTest::t);
    EXPECT_EQ(quick.analysis.alpha, 0.01);
    EXPECT_EQ(quick.analysis.contrasts.size(), 2U) << "the file's other keys stay";
    EXPECT_TRUE(quick.overrides.empty()) << "no analysis key reaches the replicates";
}

// Rule: analysis_to_toml prints every key in a fixed order, and reads back to the same spec.
TEST(AnalysisToml, DefaultsPrintEveryKey) {
    const std::string want = "[analysis]\n"
                             "primary = [\"accuracy\", \"cosine_all_mean\", "
                             "\"silhouette_euclidean_tsne\", \"davies_bouldin_tsne\"]\n"
                             "alpha = 0.05\n"
                             "test = \"sign_flip\"\n"
                             "power = 0.8\n"
                             "# contrasts: none declared, so the defaults: \"al.strategy: * vs "
                             "baseline\" \"al.strategy: * vs random\"\n"
                             "\n[analysis.equivalence]\n"
                             "\n[analysis.effect]\n";
    EXPECT_EQ(sp::analysis_to_toml(sp::AnalysisSpec{}), want);
}

void expect_same(const sp::AnalysisSpec& x, const sp::AnalysisSpec& y) {
    EXPECT_EQ(x.primary, y.primary);
    EXPECT_EQ(x.alpha, y.alpha);
    EXPECT_EQ(x.test, y.test);
    EXPECT_EQ(x.power, y.power);
    EXPECT_EQ(names_of(x.contrasts), names_of(y.contrasts));
    EXPECT_EQ(x.equivalence, y.equivalence);
    EXPECT_EQ(x.effect, y.effect);
}

TEST(AnalysisToml, RoundTrips) {
    sp::AnalysisSpec a;
    a.primary = {"nc1", "accuracy"};
    a.alpha = 1.0 / 30.0;
    a.test = sp::DeclaredTest::t;
    a.power = 0.9;
    a.contrasts = {sp::Contrast{"strategy", "least_confidence", "baseline", {}},
                   sp::Contrast{"al.start", "*", "warm \"quoted\"", {}}};
    a.equivalence = {{"davies_bouldin_tsne", 0.1}, {"accuracy", 1.0}};
    a.effect = {{"cosine_all_mean", 0.042}};
    const std::string text = sp::analysis_to_toml(a);
    EXPECT_EQ(text, "[analysis]\n"
                    "primary = [\"nc1\", \"accuracy\"]\n"
                    "alpha = 0.03333333333333333\n"
                    "test = \"t\"\n"
                    "power = 0.9\n"
                    "\n[[analysis.contrasts]]\n"
                    "factor = \"strategy\"\na = \"least_confidence\"\nb = \"baseline\"\n"
                    "\n[[analysis.contrasts]]\n"
                    "factor = \"al.start\"\na = \"*\"\nb = \"warm \\\"quoted\\\"\"\n"
                    "\n[analysis.equivalence]\n"
                    "accuracy = 1.0\ndavies_bouldin_tsne = 0.1\n"
                    "\n[analysis.effect]\n"
                    "cosine_all_mean = 0.042\n");
    const sp::AnalysisSpec back = sp::parse_sweep(text, "rt.toml").analysis;
    expect_same(back, a);
    EXPECT_EQ(back.alpha, 1.0 / 30.0) << "doubles survive bit for bit";
    EXPECT_EQ(sp::analysis_to_toml(back), text);
    const sp::AnalysisSpec defaults = sp::parse_sweep(sp::analysis_to_toml({}), "d.toml").analysis;
    expect_same(defaults, sp::AnalysisSpec{});
    EXPECT_TRUE(defaults.contrasts.empty()) << "defaulted contrasts stay defaulted";
}

// Rule: the table never changes a replicate: same plan, same IDs, same resolved configuration,
// and the resolved configuration does not carry it.
TEST(AnalysisIdentity, TableChangesNoReplicate) {
    const std::string bare = quick_without_analysis();
    const std::vector<std::string> texts = {
        bare, sp::embedded_quick_toml(),
        bare + "[analysis]\nprimary = [\"nc1\"]\nalpha = 0.2\ntest = \"t\"\npower = 0.5\n"
               "[[analysis.contrasts]]\nfactor = \"al.strategy\"\na = \"random\"\nb = "
               "\"baseline\"\n[analysis.effect]\nnc1 = 3.0\n"};
    std::vector<sp::Plan> plans;
    for (const auto& t : texts) plans.push_back(sp::make_plan(sp::parse_sweep(t, "quick.toml"), 2));
    plans.push_back(
        sp::make_plan(sp::parse_sweep(texts[1], "quick.toml", {"analysis.alpha=0.001"}), 2));
    ASSERT_EQ(plans[0].replicates.size(), 9U);
    for (std::size_t p = 1; p < plans.size(); ++p) {
        ASSERT_EQ(plans[p].replicates.size(), plans[0].replicates.size()) << p;
        EXPECT_EQ(plans[p].name, plans[0].name);
        for (std::size_t i = 0; i < plans[0].replicates.size(); ++i) {
            const auto& r = plans[p].replicates[i];
            const auto& r0 = plans[0].replicates[i];
            EXPECT_EQ(r.id, r0.id) << p << " " << i;
            EXPECT_EQ(r.seeds.init, r0.seeds.init);
            EXPECT_EQ(sp::resolved_toml(plans[p], r), sp::resolved_toml(plans[0], r0));
        }
    }
    for (const auto& r : plans[2].replicates) {
        EXPECT_EQ(sp::resolved_toml(plans[2], r).find("analysis"), std::string::npos);
        EXPECT_EQ(sp::experiment_to_toml(r.config).find("analysis"), std::string::npos);
    }
}

// Rule: load_analysis reads a whole sweep file or a file of only [analysis]; it needs the table.
TEST(LoadAnalysis, WholeSweepOrTableAlone) {
    const sp::AnalysisSpec paper = sp::load_analysis(sp::test::source_path("sweeps/paper.toml"));
    EXPECT_EQ(names_of(paper.contrasts),
              (std::vector<std::string>{"strategy: least_confidence vs random",
                                        "strategy: least_confidence vs baseline"}));
    TempDir dir("sp-analysis");
    const std::string only =
        dir.write("only.toml", "# the analysis, alone\n[analysis]\nalpha = 0.01\n"
                               "[[analysis.contrasts]]\nfactor = \"strategy\"\n"
                               "a = \"least_confidence\"\nb = \"baseline\"\n");
    const sp::AnalysisSpec a = sp::load_analysis(only);
    EXPECT_TRUE(a.declared);
    EXPECT_EQ(a.alpha, 0.01);
    EXPECT_EQ(names_of(a.contrasts), (std::vector<std::string>{paper.contrasts[1].name()}));
    EXPECT_EQ(a.contrasts[0].source.describe(), only + ":4:1");

    const std::string none = dir.write("none.toml", "[train]\nepochs = 2\n");
    try {
        sp::load_analysis(none);
        FAIL() << "no error";
    } catch (const sp::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(none + ": no [analysis] table"), std::string::npos)
            << e.what();
    }
    const std::string bad = dir.write("bad.toml", "[analysis]\n\nalpha = 3\n");
    try {
        sp::load_analysis(bad);
        FAIL() << "no error";
    } catch (const sp::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(bad + ":3:1: analysis.alpha: must be in (0, 1)"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(sp::load_analysis(dir.file("missing.toml")), sp::ConfigError);
}

// Rule: the shipped sweeps declare what the issue says.
TEST(ShippedAnalysis, Tables) {
    const std::vector<std::string> four = {"accuracy", "cosine_all_mean",
                                           "silhouette_euclidean_tsne", "davies_bouldin_tsne"};
    const std::map<std::string, double> paper_effect = {{"accuracy", 0.01},
                                                        {"cosine_all_mean", 0.042},
                                                        {"silhouette_euclidean_tsne", 0.023},
                                                        {"davies_bouldin_tsne", 0.009}};
    const std::map<std::string, double> margins = {{"accuracy", 0.01},
                                                   {"cosine_all_mean", 0.01},
                                                   {"silhouette_euclidean_tsne", 0.01},
                                                   {"davies_bouldin_tsne", 0.1}};
    const auto load = [](const char* name) {
        return sp::load_sweep(sp::test::source_path(name)).analysis;
    };
    const sp::AnalysisSpec paper = load("sweeps/paper.toml");
    EXPECT_TRUE(paper.declared);
    EXPECT_EQ(paper.primary, four);
    EXPECT_EQ(paper.alpha, 0.05);
    EXPECT_EQ(paper.test, sp::DeclaredTest::sign_flip);
    EXPECT_EQ(names_of(paper.contrasts),
              (std::vector<std::string>{"strategy: least_confidence vs random",
                                        "strategy: least_confidence vs baseline"}));
    EXPECT_EQ(paper.effect, paper_effect);
    EXPECT_EQ(paper.equivalence, margins);

    const sp::AnalysisSpec quick = load("sweeps/quick.toml");
    EXPECT_EQ(quick.primary, four);
    EXPECT_EQ(names_of(quick.contrasts),
              (std::vector<std::string>{"al.strategy: least_confidence vs random",
                                        "al.strategy: least_confidence vs baseline"}));
    EXPECT_EQ(quick.effect, paper_effect);
    expect_same(sp::parse_sweep(sp::embedded_quick_toml(), "q").analysis, quick);

    const sp::AnalysisSpec rigorous = load("sweeps/rigorous.toml");
    EXPECT_EQ(rigorous.primary, four);
    EXPECT_EQ(
        names_of(rigorous.contrasts),
        (std::vector<std::string>{"al.strategy: * vs random", "al.strategy: random vs baseline"}));
    EXPECT_EQ(rigorous.effect, paper_effect);
    EXPECT_EQ(rigorous.equivalence, margins);
}

// Rule: the README documents every key of the table.
TEST(ShippedAnalysis, EveryKeyIsDocumented) {
    const std::string readme = sp::test::read_file(sp::test::source_path("sweeps/README.md"));
    for (const char* key :
         {"analysis.primary", "analysis.alpha", "analysis.test", "analysis.power",
          "analysis.contrasts", "analysis.contrasts.factor", "analysis.contrasts.a",
          "analysis.contrasts.b", "analysis.equivalence.ENDPOINT", "analysis.effect.ENDPOINT"})
        EXPECT_NE(readme.find(std::string("| `") + key + "` |"), std::string::npos) << key;
}

// Rule: sp_sweep --show-config prints the resolved table after the replicate's configuration;
// the whole output reads back as a sweep of that replicate with that analysis.
TEST(ShowConfig, PrintsTheTableAfterTheReplicate) {
    const auto r = sp::test::run(
        {sp::test::app("sp_sweep"), "--show-config", "2", "--set", "analysis.alpha=0.01"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto sweep_at = r.out.find("\n[sweep]\n");
    const auto head_at = r.out.find("# The sweep's [analysis] table, resolved: how sp_reduce");
    const auto table_at = r.out.find("\n[analysis]\n");
    ASSERT_NE(sweep_at, std::string::npos) << r.out;
    ASSERT_NE(head_at, std::string::npos) << r.out;
    ASSERT_NE(table_at, std::string::npos) << r.out;
    EXPECT_LT(sweep_at, head_at);
    EXPECT_LT(head_at, table_at);
    const sp::Sweep back = sp::parse_sweep(r.out, "shown.toml");
    sp::AnalysisSpec want = sp::parse_sweep(sp::embedded_quick_toml(), "q").analysis;
    want.alpha = 0.01;
    expect_same(back.analysis, want);
    const sp::Plan quick = sp::make_plan(sp::parse_sweep(sp::embedded_quick_toml(), "q"));
    const sp::Plan shown = sp::make_plan(back);
    ASSERT_EQ(shown.replicates.size(), 1U);
    EXPECT_EQ(shown.replicates[0].id, quick.replicates[1].id);

    const auto bare = sp::test::run(
        {sp::test::app("sp_sweep"), "--show-config", "1", "--set", "analysis.test=sign"});
    EXPECT_EQ(bare.exit_code, 2);
    EXPECT_NE(bare.err.find("--set analysis.test=sign: analysis.test: \"sign\" is not one of"),
              std::string::npos)
        << bare.err;
}

} // namespace
