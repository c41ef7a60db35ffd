// model/resnet and model/weights: the module tree and names torchvision uses, shapes at other
// widths and stems, dropout, seeded initialisation, and weight-file errors. Agreement with
// torchvision's numbers is tests/oracle/test_resnet_parity.cpp.
#include "sp/model/resnet.hpp"
#include "sp/model/weights.hpp"
#include "sp/util/error.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

using sp::ResNet18;
using sp::ResNet18Options;
using sp::Stem;
using sp::test::TempDir;

namespace {

std::vector<std::int64_t> shape(const torch::Tensor& t) { return t.sizes().vec(); }

std::map<std::string, std::vector<std::int64_t>> shapes(const torch::nn::Module& m) {
    std::map<std::string, std::vector<std::int64_t>> out;
    for (const auto& [name, t] : sp::state_dict(m)) out[name] = shape(t);
    return out;
}

// Writes a dict of tensors the way torch.save does (the zip pickle format).
void write_dict(const std::string& path,
                const std::vector<std::pair<std::string, torch::Tensor>>& entries) {
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& [name, t] : entries) dict.insert(name, t);
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
}

template <typename F> std::string config_error(F&& f) {
    try {
        f();
    } catch (const sp::ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no ConfigError";
    return "";
}

} // namespace

// --- names and shapes: torchvision's state_dict keys --------------------------------------------

TEST(ResNet, Width1NamesAndShapesAreTorchvisions) {
    ResNet18 net(ResNet18Options(), /*init_seed=*/0);
    const auto entries = sp::state_dict(*net);
    // torchvision resnet18(): 62 parameters, 20 BNs x 3 buffers, 11,689,512 parameters in all.
    EXPECT_EQ(net->parameters().size(), 62U);
    EXPECT_EQ(net->buffers().size(), 60U);
    EXPECT_EQ(entries.size(), 122U);
    std::int64_t count = 0;
    for (const auto& p : net->parameters()) count += p.numel();
    EXPECT_EQ(count, 11689512);
    // PyTorch's state_dict order: a module's own tensors, then its children's.
    const std::vector<std::string> head = {
        "conv1.weight",          "bn1.weight",         "bn1.bias",
        "bn1.running_mean",      "bn1.running_var",    "bn1.num_batches_tracked",
        "layer1.0.conv1.weight", "layer1.0.bn1.weight"};
    for (std::size_t i = 0; i < head.size(); ++i) EXPECT_EQ(entries[i].first, head[i]);
    EXPECT_EQ(entries[entries.size() - 2].first, "fc.weight");
    EXPECT_EQ(entries.back().first, "fc.bias");

    const auto s = shapes(*net);
    const std::map<std::string, std::vector<std::int64_t>> sample = {
        {"conv1.weight", {64, 3, 7, 7}},
        {"layer1.1.conv2.weight", {64, 64, 3, 3}},
        {"layer2.0.conv1.weight", {128, 64, 3, 3}},
        {"layer2.0.downsample.0.weight", {128, 64, 1, 1}},
        {"layer2.0.downsample.1.running_var", {128}},
        {"layer3.0.downsample.1.num_batches_tracked", {}},
        {"layer4.1.bn2.bias", {512}},
        {"fc.weight", {1000, 512}},
        {"fc.bias", {1000}},
    };
    for (const auto& [name, expected] : sample) {
        ASSERT_EQ(s.count(name), 1U) << name;
        EXPECT_EQ(s.at(name), expected) << name;
    }
    EXPECT_EQ(s.count("layer1.0.downsample.0.weight"), 0U); // layer1 keeps the shape
    for (const auto& [name, _] : s) {
        EXPECT_EQ(name.find("dropout"), std::string::npos) << name;
        EXPECT_EQ(name.find("maxpool"), std::string::npos) << name;
    }
}

TEST(ResNet, QuarterWidthShapes) {
    ResNet18 net(ResNet18Options().width(0.25).num_classes(10), /*init_seed=*/0);
    const auto s = shapes(*net);
    EXPECT_EQ(s.at("conv1.weight"), (std::vector<std::int64_t>{16, 3, 7, 7}));
    EXPECT_EQ(s.at("layer2.0.downsample.0.weight"), (std::vector<std::int64_t>{32, 16, 1, 1}));
    EXPECT_EQ(s.at("layer4.1.conv2.weight"), (std::vector<std::int64_t>{128, 128, 3, 3}));
    EXPECT_EQ(s.at("fc.weight"), (std::vector<std::int64_t>{10, 128}));
    EXPECT_EQ(s.size(), 122U);
    net->eval();
    EXPECT_EQ(shape(net->features(torch::zeros({2, 3, 32, 32}))),
              (std::vector<std::int64_t>{2, 128}));
}

TEST(ResNet, ScaledChannelsRoundAndStayPositive) {
    EXPECT_EQ(sp::scaled_channels(64, 1.0), 64);
    EXPECT_EQ(sp::scaled_channels(64, 0.25), 16);
    EXPECT_EQ(sp::scaled_channels(64, 0.5078125), 33); // 32.5 rounds away from zero
    EXPECT_EQ(sp::scaled_channels(64, 0.001), 1);
}

// --- stems: output shapes ------------------------------------------------------------------------

TEST(ResNet, ImagenetStemShapes) {
    ResNet18 net(ResNet18Options().num_classes(10), /*init_seed=*/1);
    net->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor big = torch::randn({1, 3, 224, 224});
    EXPECT_EQ(shape(net->feature_map(big, "conv1")), (std::vector<std::int64_t>{1, 64, 112, 112}));
    EXPECT_EQ(shape(net->feature_map(big, "maxpool")), (std::vector<std::int64_t>{1, 64, 56, 56}));
    EXPECT_EQ(shape(net->feature_map(big, "layer4")), (std::vector<std::int64_t>{1, 512, 7, 7}));
    EXPECT_EQ(shape(net->forward(big)), (std::vector<std::int64_t>{1, 10}));
    const torch::Tensor small = torch::randn({2, 3, 32, 32});
    EXPECT_EQ(shape(net->feature_map(small, "layer4")), (std::vector<std::int64_t>{2, 512, 1, 1}));
    EXPECT_EQ(shape(net->forward(small)), (std::vector<std::int64_t>{2, 10}));
    EXPECT_EQ(shape(net->features(small)), (std::vector<std::int64_t>{2, 512}));
}

TEST(ResNet, CifarStemShapes) {
    ResNet18 net(ResNet18Options().stem(Stem::cifar).num_classes(10), /*init_seed=*/1);
    net->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::randn({2, 3, 32, 32});
    EXPECT_EQ(shape(net->feature_map(x, "conv1")), (std::vector<std::int64_t>{2, 64, 32, 32}));
    EXPECT_EQ(shape(net->feature_map(x, "layer1")), (std::vector<std::int64_t>{2, 64, 32, 32}));
    EXPECT_EQ(shape(net->feature_map(x, "layer4")), (std::vector<std::int64_t>{2, 512, 4, 4}));
    EXPECT_EQ(shape(net->forward(x)), (std::vector<std::int64_t>{2, 10}));
    // Same names as the imagenet stem; only conv1's kernel differs.
    const auto s = shapes(*net);
    EXPECT_EQ(s.size(), 122U);
    EXPECT_EQ(s.at("conv1.weight"), (std::vector<std::int64_t>{64, 3, 3, 3}));
    EXPECT_EQ(config_error([&] { net->feature_map(x, "maxpool"); }).rfind("model.extra_layers", 0),
              0U);
}

TEST(ResNet, ForwardWithFeaturesAgreesWithForward) {
    ResNet18 net(ResNet18Options().width(0.25).num_classes(7), /*init_seed=*/2);
    net->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::randn({3, 3, 64, 64});
    const sp::ResNetOutputs out = net->forward_with_features(x, {"layer3", "bn1", "avgpool"});
    EXPECT_TRUE(torch::equal(out.logits, net->forward(x)));
    EXPECT_TRUE(torch::equal(out.features, net->features(x)));
    EXPECT_TRUE(torch::equal(out.layers.at("avgpool"), out.features));
    EXPECT_EQ(shape(out.layers.at("layer3")), (std::vector<std::int64_t>{3, 64}));
    // bn1's output taken before the in-place relu overwrote it: it has negative values.
    EXPECT_TRUE(torch::allclose(out.layers.at("bn1"), net->feature_map(x, "bn1").mean({2, 3})));
    EXPECT_LT(net->feature_map(x, "bn1").min().item<float>(), 0.0F);
    const std::string message = config_error([&] { net->forward_with_features(x, {"layr4"}); });
    EXPECT_NE(message.find("'layr4'"), std::string::npos) << message;
    EXPECT_NE(message.find("did you mean 'layer4'"), std::string::npos) << message;
}

// --- dropout and initialisation ------------------------------------------------------------------

TEST(ResNet, DropoutActsInTrainModeOnly) {
    ResNet18 net(ResNet18Options().width(0.25).num_classes(10).dropout(0.5), /*init_seed=*/3);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::randn({4, 3, 32, 32});
    net->train();
    EXPECT_FALSE(torch::equal(net->forward(x), net->forward(x)));
    net->eval();
    EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));

    ResNet18 plain(ResNet18Options().width(0.25).num_classes(10), /*init_seed=*/3);
    plain->train();
    EXPECT_TRUE(torch::equal(plain->forward(x), plain->forward(x))); // BN in train mode is exact
}

TEST(ResNet, InitIsSeededAndLeavesTheGlobalGeneratorAlone) {
    const auto options = ResNet18Options().width(0.25).num_classes(10);
    ResNet18 a(options, /*init_seed=*/42);
    ResNet18 b(options, /*init_seed=*/42);
    ResNet18 c(options, /*init_seed=*/43);
    const auto sa = sp::state_dict(*a);
    const auto sb = sp::state_dict(*b);
    const auto sc = sp::state_dict(*c);
    for (std::size_t i = 0; i < sa.size(); ++i) {
        EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
    }
    EXPECT_FALSE(torch::equal(sa[0].second, sc[0].second));

    torch::manual_seed(5);
    const torch::Tensor before = torch::rand({8});
    torch::manual_seed(5);
    ResNet18 d(options, /*init_seed=*/42);
    EXPECT_TRUE(torch::equal(torch::rand({8}), before));

    // BN weight 1, bias 0; convs ~ N(0, 2 / fan_out).
    const auto s = sp::state_dict(*a);
    const auto find = [&](const std::string& name) {
        for (const auto& [n, t] : s) {
            if (n == name) return t;
        }
        return torch::Tensor();
    };
    EXPECT_TRUE(torch::equal(find("layer3.1.bn1.weight"), torch::ones({64})));
    EXPECT_TRUE(torch::equal(find("layer3.1.bn1.bias"), torch::zeros({64})));
    const torch::Tensor w = find("layer4.0.conv1.weight"); // fan_out = 128 * 9
    EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / (128 * 9)), 0.002);
}

TEST(ResNet, ResetFcChangesOnlyFc) {
    ResNet18 net(ResNet18Options().width(0.25).num_classes(10), /*init_seed=*/1);
    const torch::Tensor conv = net->named_parameters()["conv1.weight"].clone();
    const torch::Tensor fc = net->named_parameters()["fc.weight"].clone();
    net->reset_fc(/*seed=*/9);
    EXPECT_TRUE(torch::equal(net->named_parameters()["conv1.weight"], conv));
    EXPECT_FALSE(torch::equal(net->named_parameters()["fc.weight"], fc));
    const double bound = 1 / std::sqrt(128.0); // kaiming_uniform(a=sqrt(5)) bound = 1/sqrt(fan_in)
    EXPECT_LE(net->named_parameters()["fc.weight"].abs().max().item<double>(), bound);
}

// --- options from the config ---------------------------------------------------------------------

TEST(ResNet, OptionsFromConfig) {
    sp::ModelConfig config;
    config.stem = "cifar";
    config.width = 0.5;
    config.dropout = 0.2;
    const ResNet18Options o = sp::resnet18_options(config, /*dataset_classes=*/200);
    EXPECT_EQ(o.stem(), Stem::cifar);
    EXPECT_EQ(o.num_classes(), 200);
    EXPECT_DOUBLE_EQ(o.width(), 0.5);
    EXPECT_DOUBLE_EQ(o.dropout(), 0.2);
    config.num_classes = 3;
    EXPECT_EQ(sp::resnet18_options(config, 200).num_classes(), 3);

    const std::vector<std::pair<std::string, std::function<void(sp::ModelConfig&)>>> bad = {
        {"model.stem", [](sp::ModelConfig& c) { c.stem = "tiny"; }},
        {"model.arch", [](sp::ModelConfig& c) { c.arch = "resnet50"; }},
        {"model.width", [](sp::ModelConfig& c) { c.width = 0; }},
        {"model.dropout", [](sp::ModelConfig& c) { c.dropout = 1; }},
        {"model.extra_layers",
         [](sp::ModelConfig& c) {
             c.extra_layers = {"layer3", "layr2"};
         }},
    };
    for (const auto& [key, change] : bad) {
        sp::ModelConfig c;
        change(c);
        const std::string message = config_error([&] { sp::resnet18_options(c, 10); });
        EXPECT_EQ(message.rfind(key + ": ", 0), 0U) << message;
    }
}

// --- weight files --------------------------------------------------------------------------------

TEST(Weights, SaveLoadRoundTrip) {
    TempDir dir;
    const auto options = ResNet18Options().width(0.25).num_classes(10);
    ResNet18 a(options, /*init_seed=*/1);
    ResNet18 b(options, /*init_seed=*/2);
    a->train();
    a->forward(torch::randn({2, 3, 32, 32})); // non-trivial running statistics
    sp::save_state_dict_file(*a, dir.file("a.pt"));
    sp::load_state_dict_file(*b, dir.file("a.pt"));
    const auto sa = sp::state_dict(*a);
    const auto sb = sp::state_dict(*b);
    ASSERT_EQ(sa.size(), sb.size());
    for (std::size_t i = 0; i < sa.size(); ++i) {
        EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
    }
    EXPECT_EQ(sp::read_tensor_dict(dir.file("a.pt")).front().first, "conv1.weight");
}

TEST(Weights, MissingFileNamesTheKeyAndPath) {
    ResNet18 net(ResNet18Options().width(0.25), /*init_seed=*/0);
    EXPECT_EQ(config_error([&] { sp::load_state_dict_file(*net, "weights/resnet18-imagenet.pt"); }),
              "model.pretrained: weights/resnet18-imagenet.pt: no such file");
}

TEST(Weights, AllMismatchesInOneError) {
    TempDir dir;
    const auto options = ResNet18Options().width(0.25).num_classes(10);
    ResNet18 net(options, /*init_seed=*/0);
    const ResNet18 reference(options, /*init_seed=*/5);
    auto entries = sp::state_dict(*reference);
    entries.erase(entries.begin() + 1);                      // bn1.weight missing
    entries.emplace_back("extra.weight", torch::zeros({3})); // unexpected
    entries[5].second = torch::zeros({64, 64, 3, 3});        // layer1.0.conv1.weight
    ASSERT_EQ(entries[5].first, "layer1.0.conv1.weight");
    write_dict(dir.file("bad.pt"), entries);
    const torch::Tensor before = net->named_parameters()["conv1.weight"].clone();
    const std::string message =
        config_error([&] { sp::load_state_dict_file(*net, dir.file("bad.pt")); });
    EXPECT_EQ(message.rfind("model.pretrained: " + dir.file("bad.pt") + ": 3 mismatches", 0), 0U)
        << message;
    EXPECT_NE(message.find("missing in file: bn1.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected in file: extra.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("layer1.0.conv1.weight: shape [64, 64, 3, 3] in file, [16, 16, 3, 3] "
                           "in model"),
              std::string::npos)
        << message;
    // All or nothing: nothing was copied.
    EXPECT_TRUE(torch::equal(net->named_parameters()["conv1.weight"], before));
}

TEST(Weights, SkipFcKeepsTheModelsClassifier) {
    TempDir dir;
    ResNet18 imagenet(ResNet18Options().width(0.25).num_classes(1000), /*init_seed=*/1);
    sp::save_state_dict_file(*imagenet, dir.file("in.pt"));
    ResNet18 net(ResNet18Options().width(0.25).num_classes(10), /*init_seed=*/2);
    const std::string message =
        config_error([&] { sp::load_state_dict_file(*net, dir.file("in.pt")); });
    EXPECT_NE(message.find("fc.weight: shape [1000, 128] in file, [10, 128] in model"),
              std::string::npos)
        << message;
    const torch::Tensor fc = net->named_parameters()["fc.weight"].clone();
    sp::LoadOptions options;
    options.skip_fc = true;
    sp::load_state_dict_file(*net, dir.file("in.pt"), options);
    EXPECT_TRUE(torch::equal(net->named_parameters()["fc.weight"], fc));
    EXPECT_TRUE(torch::equal(net->named_parameters()["layer2.0.conv1.weight"],
                             imagenet->named_parameters()["layer2.0.conv1.weight"]));
}

TEST(Weights, FilesThatAreNotDictsOfTensors) {
    TempDir dir;
    ResNet18 net(ResNet18Options().width(0.25), /*init_seed=*/0);
    const std::string junk = dir.write("junk.pt", "not a zip file");
    EXPECT_NE(config_error([&] {
                  sp::load_state_dict_file(*net, junk);
              }).find("not a plain dict of tensors written by torch.save"),
              std::string::npos);
    const std::vector<char> list = torch::pickle_save(c10::IValue(std::vector<int64_t>{1, 2}));
    std::ofstream(dir.file("list.pt"), std::ios::binary)
        .write(list.data(), static_cast<long>(list.size()));
    EXPECT_NE(config_error([&] {
                  sp::load_state_dict_file(*net, dir.file("list.pt"));
              }).find("not a dict of tensors"),
              std::string::npos);
    EXPECT_NE(config_error([&] {
                  sp::load_state_dict_file(*net, dir.path());
              }).find("not a regular file"),
              std::string::npos);
}

TEST(MaxPool, ChannelsLastDetourBitIdentical) {
    // sp::max_pool_cpu_fast against the module on NCHW memory: values, and the input gradient
    // (overlapping 3x3 windows at stride 2 add up to four outputs' gradients into one input),
    // with many ties (ReLU zeros and values on a coarse grid), odd sizes, 1-3 threads.
    torch::nn::MaxPool2d pool(torch::nn::MaxPool2dOptions(3).stride(2).padding(1));
    const int saved = torch::get_num_threads();
    for (const int threads : {1, 2, 3}) {
        torch::set_num_threads(threads);
        for (const auto& shape : std::vector<std::vector<std::int64_t>>{
                 {16, 8, 16, 16}, {3, 5, 15, 17}, {128, 32, 16, 16}}) {
            torch::manual_seed(11);
            const torch::Tensor x0 = (torch::randn(shape) * 2).round().relu() / 2;
            torch::Tensor xa = x0.clone().requires_grad_();
            torch::Tensor xb = x0.clone().requires_grad_();
            const torch::Tensor ya = pool->forward(xa);
            const torch::Tensor yb = sp::max_pool_cpu_fast(pool, xb);
            EXPECT_TRUE(yb.is_contiguous());
            const torch::Tensor g = torch::randn(ya.sizes());
            ya.backward(g);
            yb.backward(g);
            const auto same = [](const torch::Tensor& a, const torch::Tensor& b) {
                const torch::Tensor x = a.contiguous();
                const torch::Tensor y = b.contiguous();
                return x.sizes() == y.sizes() &&
                       std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
            };
            EXPECT_TRUE(same(ya.detach(), yb.detach())) << threads << " threads";
            EXPECT_TRUE(same(xa.grad(), xb.grad())) << threads << " threads";
        }
    }
    torch::set_num_threads(saved);
}
