// model/resnet and model/weights against torchvision (Debian's /usr/bin/python3 with torch 1.13
// and torchvision): tests/oracle/resnet_oracle.py builds resnet18(num_classes=10), saves its
// weights and its outputs on fixed inputs, and sp must load the weights and reproduce the
// outputs. Tolerance: elementwise |sp - torchvision| <= 1e-6 + 1e-5 * |torchvision|
// (torch::allclose with rtol 1e-5, atol 1e-6). Initialisation is compared exactly.
//
// Extra features (model.extra_layers: sub-modules inside blocks, pooled or flattened, and the
// paper notebook's CIFAR feature) against torchvision forward hooks on the same weights, and
// the notebook feature's cosine statistics (sp's analyze) against scikit-learn's
// cosine_similarity on torchvision's features.
#include "sp/io/h5.hpp"
#include "sp/metrics/analyze.hpp"
#include "sp/model/resnet.hpp"
#include "sp/model/weights.hpp"
#include "sp/util/error.hpp"

#include "support/oracle.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using sp::FeatureReduction;
using sp::ResNet18;
using sp::ResNet18Options;
using sp::Stem;
using sp::test::TempDir;

namespace {

constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;
constexpr std::int64_t kClasses = 10;

std::string oracle_script() { return sp::test::source_path("tests/oracle/resnet_oracle.py"); }

std::map<std::string, torch::Tensor> read(const std::string& path) {
    std::map<std::string, torch::Tensor> out;
    for (auto& [name, t] : sp::read_tensor_dict(path, "test")) out.emplace(name, t);
    return out;
}

::testing::AssertionResult close(const torch::Tensor& sp_value, const torch::Tensor& expected) {
    if (sp_value.sizes() != expected.sizes()) {
        return ::testing::AssertionFailure()
               << "shape " << sp_value.sizes() << " vs " << expected.sizes();
    }
    if (torch::allclose(sp_value, expected, kRtol, kAtol)) return ::testing::AssertionSuccess();
    const double max_error = (sp_value - expected).abs().max().item<double>();
    return ::testing::AssertionFailure() << "max abs error " << max_error;
}

// One torchvision run shared by all tests: importing torch costs seconds.
class ResNetParity : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!sp::test::python_has("torch, torchvision")) {
            skip_reason_ = new std::string(sp::test::python() + " lacks torch/torchvision");
            return;
        }
        dir_ = new TempDir("resnet_oracle");
        const auto r = sp::test::run({sp::test::python(), oracle_script(), "make", dir_->path()});
        if (r.exit_code != 0) failure_ = new std::string("resnet_oracle.py make: " + r.err);
    }
    static void TearDownTestSuite() {
        delete dir_;
        delete skip_reason_;
        delete failure_;
        dir_ = nullptr;
        skip_reason_ = nullptr;
        failure_ = nullptr;
    }
    void SetUp() override {
        if (skip_reason_ != nullptr) GTEST_SKIP() << *skip_reason_;
        ASSERT_EQ(failure_, nullptr) << *failure_;
    }

    static std::string file(const std::string& name) { return dir_->file(name); }

    static ResNet18 loaded(Stem stem) {
        ResNet18 net(ResNet18Options().stem(stem).num_classes(kClasses), /*init_seed=*/0);
        const std::string name = stem == Stem::imagenet ? "imagenet" : "cifar";
        sp::load_state_dict_file(*net, file(name + "_weights.pt"));
        return net;
    }

    // Eval mode on every input x<i>, then train mode on x0 and the running buffers after it.
    static void expect_outputs_match(Stem stem, int inputs) {
        const std::string name = stem == Stem::imagenet ? "imagenet" : "cifar";
        const auto io = read(file(name + "_io.pt"));
        ResNet18 net = loaded(stem);
        net->eval();
        {
            torch::NoGradGuard no_grad;
            for (int i = 0; i < inputs; ++i) {
                const std::string p = "eval" + std::to_string(i) + ".";
                const auto out =
                    net->forward_with_features(io.at("x" + std::to_string(i)), {"layer3"});
                EXPECT_TRUE(close(out.logits, io.at(p + "logits"))) << name << " " << p;
                EXPECT_TRUE(close(out.features, io.at(p + "features"))) << name << " " << p;
                EXPECT_TRUE(close(out.layers.at("layer3"), io.at(p + "layer3"))) << name << p;
            }
        }
        net->train();
        const auto out = net->forward_with_features(io.at("x0"), {"layer3"});
        EXPECT_TRUE(close(out.logits, io.at("train0.logits"))) << name;
        EXPECT_TRUE(close(out.features, io.at("train0.features"))) << name;
        EXPECT_TRUE(close(out.layers.at("layer3"), io.at("train0.layer3"))) << name;
        int buffers = 0;
        for (const auto& [key, value] : sp::state_dict(*net)) {
            const auto found = io.find("after." + key);
            if (found == io.end()) continue;
            ++buffers;
            if (value.is_floating_point()) {
                EXPECT_TRUE(close(value, found->second)) << key;
            } else {
                EXPECT_TRUE(torch::equal(value, found->second)) << key; // num_batches_tracked 8
            }
        }
        EXPECT_EQ(buffers, 60);
    }

    // Every "eval<i>.extra.<entry>" the oracle wrote: sp computes them all in one pass.
    static void expect_extra_features_match(Stem stem, int inputs) {
        const std::string name = stem == Stem::imagenet ? "imagenet" : "cifar";
        const auto io = read(file(name + "_io.pt"));
        ResNet18 net = loaded(stem);
        net->eval();
        torch::NoGradGuard no_grad;
        for (int i = 0; i < inputs; ++i) {
            const std::string p = "eval" + std::to_string(i) + ".extra.";
            std::vector<std::string> entries;
            for (const auto& [key, value] : io) {
                if (key.rfind(p, 0) == 0) entries.push_back(key.substr(p.size()));
            }
            EXPECT_EQ(entries.size(), 11U) << name << " " << p;
            const torch::Tensor x = io.at("x" + std::to_string(i));
            const auto out = net->forward_with_features(x, entries);
            EXPECT_TRUE(torch::equal(out.logits, net->forward(x))) << name << " " << p;
            EXPECT_EQ(out.layers.size(), entries.size());
            for (const std::string& entry : entries) {
                ASSERT_EQ(out.layers.count(entry), 1U) << entry;
                EXPECT_TRUE(close(out.layers.at(entry), io.at(p + entry)))
                    << name << " " << p << entry;
            }
        }
    }

    static TempDir* dir_;
    static std::string* skip_reason_;
    static std::string* failure_;
};

TempDir* ResNetParity::dir_ = nullptr;
std::string* ResNetParity::skip_reason_ = nullptr;
std::string* ResNetParity::failure_ = nullptr;

} // namespace

TEST_F(ResNetParity, NamesShapesAndOrderAreTorchvisions) {
    const auto reference = sp::read_tensor_dict(file("init_seed7.pt"), "test");
    ResNet18 net(ResNet18Options().num_classes(kClasses), /*init_seed=*/7);
    const auto entries = sp::state_dict(*net);
    ASSERT_EQ(entries.size(), reference.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        EXPECT_EQ(entries[i].first, reference[i].first) << i;
        EXPECT_EQ(entries[i].second.sizes(), reference[i].second.sizes()) << entries[i].first;
        EXPECT_EQ(entries[i].second.dtype(), reference[i].second.dtype()) << entries[i].first;
    }
}

TEST_F(ResNetParity, InitEqualsTorchvisionAfterManualSeed) {
    const auto reference = read(file("init_seed7.pt"));
    ResNet18 net(ResNet18Options().num_classes(kClasses), /*init_seed=*/7);
    for (const auto& [name, value] : sp::state_dict(*net)) {
        EXPECT_TRUE(torch::equal(value, reference.at(name))) << name;
    }
}

TEST_F(ResNetParity, ImagenetStemOutputsMatch) { expect_outputs_match(Stem::imagenet, 3); }

TEST_F(ResNetParity, CifarStemOutputsMatch) { expect_outputs_match(Stem::cifar, 1); }

TEST_F(ResNetParity, SavedFileLoadsStrictlyInTorchvision) {
    ResNet18 net = loaded(Stem::imagenet);
    sp::save_state_dict_file(*net, file("sp_saved.pt"));
    const auto r = sp::test::run({sp::test::python(), oracle_script(), "check", file("sp_saved.pt"),
                                  file("imagenet_weights.pt")});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "ok\n");
}

TEST_F(ResNetParity, ConvertWeightsMakesTorchvisionsFileLoadable) {
    ResNet18 net(ResNet18Options().num_classes(kClasses), /*init_seed=*/0);
    // torchvision's published files are OrderedDicts: refused, with the way out in the message.
    try {
        sp::load_state_dict_file(*net, file("imagenet_ordered.pth"));
        ADD_FAILURE() << "an OrderedDict file loaded";
    } catch (const sp::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("scripts/convert_weights.py"), std::string::npos)
            << e.what();
    }
    const auto r =
        sp::test::run({sp::test::python(), sp::test::source_path("scripts/convert_weights.py"),
                       file("imagenet_ordered.pth"), file("converted.pt")});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    sp::load_state_dict_file(*net, file("converted.pt"));
    const auto reference = read(file("imagenet_weights.pt"));
    for (const auto& [name, value] : sp::state_dict(*net)) {
        EXPECT_TRUE(torch::equal(value, reference.at(name))) << name;
    }
}

// --- extra features: sub-modules and the notebook's variant
// ---------------------------------------

TEST_F(ResNetParity, FeatureModuleNamesAreTorchvisionsNamedModules) {
    const auto r = sp::test::run({sp::test::python(), oracle_script(), "names"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // All of named_modules() but the root, fc and a block's relu (called twice per block).
    std::vector<std::string> expected;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        const bool block_relu = line.size() > 5 && line.rfind("layer", 0) == 0 &&
                                line.compare(line.size() - 5, 5, ".relu") == 0;
        if (!line.empty() && line != "fc" && !block_relu) expected.push_back(line);
    }
    EXPECT_EQ(expected.size(), 58U);
    EXPECT_EQ(sp::feature_module_names(Stem::imagenet), expected);
}

TEST_F(ResNetParity, ImagenetStemExtraFeaturesMatchForwardHooks) {
    expect_extra_features_match(Stem::imagenet, 3);
}

TEST_F(ResNetParity, CifarStemExtraFeaturesMatchForwardHooks) {
    expect_extra_features_match(Stem::cifar, 1);
}

// The paper's CIFAR number: the mean of scikit-learn's full cosine_similarity matrix of the
// notebook's feature (here on 24 random 32 x 32 images through the imagenet stem), and the
// pair sets, from sp's analyze() on sp's own features.
TEST_F(ResNetParity, NotebookFeatureCosineMatchesScikitLearn) {
    const auto io = read(file("imagenet_io.pt"));
    ResNet18 net = loaded(Stem::imagenet);
    net->eval();
    torch::NoGradGuard no_grad;
    const auto out = net->forward_with_features(io.at("x2"), {sp::kNotebookFeature});
    const torch::Tensor feature = out.layers.at(sp::kNotebookFeature).contiguous();
    ASSERT_EQ(feature.size(1), 512) << "1 x 1 map: 512 values per image, as in the notebook";
    EXPECT_LT(feature.min().item<float>(), 0.0F) << "before bn2 and relu: negative values";

    const torch::Tensor labels = io.at("notebook.labels").contiguous();
    const torch::Tensor emb = out.features.contiguous();
    sp::AnalysisInput in;
    in.n = emb.size(0);
    in.d = emb.size(1);
    in.classes = 3;
    in.embeddings = emb.data_ptr<float>();
    in.labels = labels.data_ptr<std::int64_t>();
    in.feature_sets.push_back({sp::kNotebookFeature, feature.size(1), feature.data_ptr<float>()});
    sp::MetricsConfig cfg;
    cfg.cosine_full_matrix = true;
    cfg.tsne.enabled = false;
    cfg.spaces = {"raw"};
    const sp::Analysis a = sp::analyze(in, cfg, /*tsne_seed=*/0, /*threads=*/1);

    // Its few scalars (every statistic is in its /metrics/features group). float32 features
    // that agree to ~1e-6 relative: cosines agree to well within 1e-5.
    const std::string prefix = "notebook_layer4_1_conv2_cosine_";
    for (const char* stat :
         {"full_mean", "full_std", "all_mean", "all_std", "within_mean", "between_mean"}) {
        const std::string scalar = prefix + stat;
        ASSERT_EQ(a.scalars.count(scalar), 1U) << scalar;
        EXPECT_NEAR(a.scalars.at(scalar),
                    io.at(std::string("notebook.cosine.") + stat).item<double>(), 1e-5)
            << scalar;
    }
    EXPECT_EQ(a.scalars.count(prefix + "all_min"), 0U);
    const sp::CosineStats& nb = a.features.at(sp::kNotebookFeature).cosine;
    EXPECT_NEAR(nb.all.min, io.at("notebook.cosine.all_min").item<double>(), 1e-5);
    EXPECT_NEAR(nb.all.max, io.at("notebook.cosine.all_max").item<double>(), 1e-5);
    EXPECT_EQ(nb.all.count, 24 * 23 / 2);
    EXPECT_EQ(nb.full.count, 24 * 24);
    // The penultimate features' scalars keep their names and values.
    const sp::CosineStats penultimate = sp::cosine_statistics(
        in.embeddings, in.n, in.d, in.labels, in.classes, {cfg.cosine_bins, true, 0, 1});
    EXPECT_EQ(a.scalars.at("cosine_full_mean"), penultimate.full.mean);
    EXPECT_EQ(a.features.at(sp::kNotebookFeature).d, 512);

    // /metrics/features/<entry> reads back as written.
    sp::h5::File f = sp::h5::File::create(file("metrics.h5"));
    sp::write_analysis(f, a, /*compression=*/0);
    const sp::Analysis back = sp::read_analysis(f);
    ASSERT_EQ(back.features.count(sp::kNotebookFeature), 1U);
    const sp::CosineStats& c = back.features.at(sp::kNotebookFeature).cosine;
    EXPECT_TRUE(c.has_full);
    EXPECT_EQ(c.full.mean, a.features.at(sp::kNotebookFeature).cosine.full.mean);
    EXPECT_EQ(c.all.histogram, a.features.at(sp::kNotebookFeature).cosine.all.histogram);
    EXPECT_EQ(back.scalars, a.scalars);
}

// --- extra features without torchvision ----------------------------------------------------------

std::string config_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const sp::ConfigError& e) {
        return e.what();
    }
    return "(no ConfigError)";
}

TEST(ResNetFeatures, TapsLeaveLogitsAndFeaturesBitIdentical) {
    for (const Stem stem : {Stem::imagenet, Stem::cifar}) {
        ResNet18 net(ResNet18Options().stem(stem).width(0.125).num_classes(5), /*init_seed=*/4);
        net->eval();
        torch::NoGradGuard no_grad;
        const torch::Tensor x = torch::randn({2, 3, 32, 32});
        std::vector<std::string> all = sp::feature_module_names(stem);
        const std::size_t modules = all.size();
        for (std::size_t i = 0; i < modules; ++i) all.push_back(all[i] + ":flatten");
        all.emplace_back(sp::kNotebookFeature);
        const sp::ResNetOutputs out = net->forward_with_features(x, all);
        EXPECT_TRUE(torch::equal(out.logits, net->forward(x)));
        EXPECT_TRUE(torch::equal(out.features, net->features(x)));
        EXPECT_EQ(out.layers.size(), all.size());
        // Pooled = the unreduced map averaged; flattened = the map's values in order.
        for (const std::string m : {"layer4.1.conv2", "layer2.0.downsample.1", "bn1"}) {
            const torch::Tensor map = net->feature_map(x, m);
            EXPECT_TRUE(torch::allclose(out.layers.at(m), map.mean({2, 3}))) << m;
            EXPECT_TRUE(torch::equal(out.layers.at(m + std::string(":flatten")), map.flatten(1)))
                << m;
        }
        EXPECT_TRUE(torch::equal(out.layers.at(sp::kNotebookFeature),
                                 net->feature_map(x, sp::kNotebookFeature).flatten(1)));
        EXPECT_TRUE(torch::equal(out.layers.at("layer4.1"), out.layers.at("layer4")));
        EXPECT_TRUE(torch::equal(out.layers.at("avgpool"), out.features));
    }
}

TEST(ResNetFeatures, BadEntriesNameTheKeyAndTheFault) {
    ResNet18 net(ResNet18Options().width(0.125).num_classes(5), /*init_seed=*/4);
    const torch::Tensor x = torch::randn({1, 3, 32, 32});
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"layr4.1.conv2", "'layr4.1.conv2' is not a layer of this resnet18 (did you mean "
                          "'layer4.1.conv2'?)"},
        {"layer4.1.conv2:flaten", "'layer4.1.conv2:flaten': reduction 'flaten' is not one of pool, "
                                  "flatten (did you mean 'flatten'?)"},
        {"layer4.1.cnv2:pool", "'layer4.1.cnv2:pool': 'layer4.1.cnv2' is not a layer"},
        {"layer4.1.relu", "'layer4.1.relu': a block's relu runs twice"},
        {"layer1.0.downsample", "'layer1.0.downsample' is not a layer"},
        {"fc", "'fc' is not a layer"},
        {"notebook:layer4.1.conv2:flatten", "the notebook's variant is exactly "
                                            "'notebook:layer4.1.conv2'"},
        {"notebook:layer4.0.conv2", "the notebook's variant is exactly"},
    };
    for (const auto& [entry, expected] : cases) {
        const std::string message =
            config_error_of([&] { net->forward_with_features(x, {entry}); });
        EXPECT_EQ(message.rfind("model.extra_layers: ", 0), 0U) << message;
        EXPECT_NE(message.find(expected), std::string::npos) << entry << ": " << message;
    }
    sp::ModelConfig config;
    config.extra_layers = {"layer3", "layer4.1.conv2:flatten", "layer3:pool"};
    EXPECT_EQ(config_error_of([&] { sp::resnet18_options(config, 10); }),
              "model.extra_layers: 'layer3:pool' computes the same features as 'layer3'; list "
              "one of them");
    config.extra_layers = {"layer3", "layer3:flatten", sp::kNotebookFeature, "layer4.1.conv2"};
    EXPECT_NO_THROW(sp::resnet18_options(config, 10));
    const sp::FeatureSpec spec =
        sp::parse_feature_spec("layer4.0.downsample.0:flatten", Stem::cifar);
    EXPECT_EQ(spec.module, "layer4.0.downsample.0");
    EXPECT_EQ(spec.reduction, FeatureReduction::flatten);
    EXPECT_EQ(sp::parse_feature_spec("layer3", Stem::cifar).reduction, FeatureReduction::pool);
    EXPECT_NE(config_error_of([&] {
                  sp::parse_feature_spec("maxpool", Stem::cifar);
              }).find("'maxpool' is not a layer"),
              std::string::npos);
}
