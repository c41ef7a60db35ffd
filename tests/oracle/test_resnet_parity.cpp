// model/resnet and model/weights against torchvision (Debian's /usr/bin/python3 with torch 1.13
// and torchvision): tests/oracle/resnet_oracle.py builds resnet18(num_classes=10), saves its
// weights and its outputs on fixed inputs, and sp must load the weights and reproduce the
// outputs. Tolerance: elementwise |sp - torchvision| <= 1e-6 + 1e-5 * |torchvision|
// (torch::allclose with rtol 1e-5, atol 1e-6). Initialisation is compared exactly.
#include "sp/model/resnet.hpp"
#include "sp/model/weights.hpp"
#include "sp/util/error.hpp"

#include "support/oracle.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

TEST_F(ResNetParity, ImagenetStemOutputsMatch) { expect_outputs_match(Stem::imagenet, 2); }

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
