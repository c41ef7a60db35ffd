#include "sp/model/resnet.hpp"

#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

namespace sp {
namespace {

constexpr std::int64_t kStageChannels[] = {64, 128, 256, 512};
constexpr std::int64_t kStemChannels = 64;
constexpr std::int64_t kBlocksPerStage = 2;

void check_options(const ResNet18Options& o) {
    if (!(o.width() > 0) || !std::isfinite(o.width())) {
        throw ConfigError("model.width: must be > 0 (got " + format_double(o.width()) + ")");
    }
    if (!(o.dropout() >= 0 && o.dropout() < 1)) {
        throw ConfigError("model.dropout: must be in [0, 1) (got " + format_double(o.dropout()) +
                          ")");
    }
    if (o.num_classes() < 1) {
        throw ConfigError("model.num_classes: must be >= 1 (got " +
                          std::to_string(o.num_classes()) + ")");
    }
    if (o.in_channels() < 1) {
        throw ConfigError("model.in_channels: must be >= 1 (got " +
                          std::to_string(o.in_channels()) + ")");
    }
}

constexpr const char* kExtraLayers = "model.extra_layers";

[[noreturn]] void unknown_module(const std::string& text, const std::string& module, Stem stem) {
    std::vector<std::string> names = feature_module_names(stem);
    names.emplace_back(kNotebookFeature);
    std::string message = std::string(kExtraLayers) + ": '" + text + "'";
    if (text != module) message += ": '" + module + "'";
    message += " is not a layer of this resnet18";
    const std::string guess = did_you_mean(module, names);
    if (!guess.empty()) message += " (did you mean '" + guess + "'?)";
    throw ConfigError(message + "; layers: " + join(feature_layer_names(stem), ", ") +
                      ", a block layerN.B (B = 0, 1) and its conv1, bn1, conv2, bn2, "
                      "layerN.0.downsample[.0|.1] (N = 2..4), or " +
                      kNotebookFeature +
                      "; a reduction :pool (the default) or :flatten may follow");
}

torch::Tensor reduced(const torch::Tensor& y, FeatureReduction reduction) {
    if (reduction == FeatureReduction::pool) {
        return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(/*start_dim=*/1);
    }
    // A copy: flatten may return a view of a tensor that a later in-place op overwrites.
    return y.flatten(/*start_dim=*/1).clone(at::MemoryFormat::Contiguous);
}

// The top-level layer whose forward computes `module` (a prefix of its name): where the trunk
// may stop for feature_map().
std::string enclosing_layer(const std::string& module) {
    if (module == kNotebookFeature) return "layer4";
    return module.substr(0, module.find('.'));
}

torch::nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel,
                            std::int64_t stride, std::int64_t padding) {
    return torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

// LibTorch's Conv2d and Linear constructors draw their default init from the global generator.
// Construction must not move that generator (it drives dropout and whatever the caller seeded),
// so its state is put back afterwards.
class GlobalCpuGeneratorGuard {
  public:
    GlobalCpuGeneratorGuard() : generator_(at::detail::getDefaultCPUGenerator()) {
        std::lock_guard<std::mutex> lock(generator_.mutex());
        state_ = generator_.get_state();
    }
    ~GlobalCpuGeneratorGuard() {
        try {
            std::lock_guard<std::mutex> lock(generator_.mutex());
            generator_.set_state(state_);
        } catch (...) { // NOLINT(bugprone-empty-catch): a state it gave back cannot be refused
        }
    }
    GlobalCpuGeneratorGuard(const GlobalCpuGeneratorGuard&) = delete;
    GlobalCpuGeneratorGuard& operator=(const GlobalCpuGeneratorGuard&) = delete;

  private:
    at::Generator generator_;
    torch::Tensor state_;
};

// Draws into a CPU tensor and copies, so that a model already moved to a GPU gets the same
// values from the same CPU generator.
template <typename Draw> void fill(const torch::Tensor& target, Draw draw) {
    torch::Tensor cpu = torch::empty(target.sizes(), target.options().device(torch::kCPU));
    draw(cpu);
    target.copy_(cpu);
}

// nn.Conv2d / nn.Linear reset_parameters(): kaiming_uniform_(a=sqrt(5)) on the weight, and for
// Linear uniform(+-1/sqrt(fan_in)) on the bias. Python computes the bounds in double, as here.
void default_init(const torch::Tensor& weight, const torch::Tensor* bias, at::Generator& gen) {
    const std::int64_t fan_in = weight.numel() / weight.size(0);
    const double a = std::sqrt(5.0);
    const double gain = std::sqrt(2.0 / (1 + std::pow(a, 2)));
    const double bound = std::sqrt(3.0) * (gain / std::sqrt(static_cast<double>(fan_in)));
    fill(weight, [&](torch::Tensor& t) { t.uniform_(-bound, bound, gen); });
    if (bias != nullptr && bias->defined()) {
        const double bias_bound = fan_in > 0 ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
        fill(*bias, [&](torch::Tensor& t) { t.uniform_(-bias_bound, bias_bound, gen); });
    }
}

// kaiming_normal_(mode="fan_out", nonlinearity="relu"): std = sqrt(2) / sqrt(fan_out).
void kaiming_normal_fan_out(const torch::Tensor& weight, at::Generator& gen) {
    const std::int64_t fan_out = weight.numel() / weight.size(1);
    const double std_dev = std::sqrt(2.0) / std::sqrt(static_cast<double>(fan_out));
    fill(weight, [&](torch::Tensor& t) { t.normal_(/*mean=*/0.0, std_dev, gen); });
}

} // namespace

std::int64_t scaled_channels(std::int64_t base, double width) {
    return std::max<std::int64_t>(1, std::llround(static_cast<double>(base) * width));
}

std::vector<std::string> feature_layer_names(Stem stem) {
    std::vector<std::string> names = {"conv1", "bn1", "relu"};
    if (stem == Stem::imagenet) names.emplace_back("maxpool");
    for (const char* n : {"layer1", "layer2", "layer3", "layer4", "avgpool"}) names.emplace_back(n);
    return names;
}

std::vector<std::string> feature_module_names(Stem stem) {
    std::vector<std::string> names = {"conv1", "bn1", "relu"};
    if (stem == Stem::imagenet) names.emplace_back("maxpool");
    for (std::size_t stage = 1; stage <= std::size(kStageChannels); ++stage) {
        const std::string layer = "layer" + std::to_string(stage);
        names.push_back(layer);
        for (std::int64_t b = 0; b < kBlocksPerStage; ++b) {
            const std::string block = layer + "." + std::to_string(b);
            names.push_back(block);
            for (const char* sub : {".conv1", ".bn1", ".conv2", ".bn2"})
                names.push_back(block + sub);
            // Stages after the first halve the resolution in their first block (width does not
            // matter: the first stage keeps the stem's channel count).
            if (stage > 1 && b == 0) {
                for (const char* sub : {".downsample", ".downsample.0", ".downsample.1"})
                    names.push_back(block + sub);
            }
        }
    }
    names.emplace_back("avgpool");
    return names;
}

FeatureSpec parse_feature_spec(const std::string& text, Stem stem) {
    FeatureSpec spec;
    spec.text = text;
    if (text == kNotebookFeature) {
        spec.module = text;
        spec.reduction = FeatureReduction::flatten;
        return spec;
    }
    if (text.rfind("notebook:", 0) == 0) {
        throw ConfigError(std::string(kExtraLayers) + ": '" + text + "': the notebook's " +
                          "variant is exactly '" + kNotebookFeature +
                          "' (always flattened, no reduction)");
    }
    spec.module = text;
    const std::size_t colon = text.rfind(':');
    if (colon != std::string::npos) {
        spec.module = text.substr(0, colon);
        const std::string reduction = text.substr(colon + 1);
        if (reduction == "pool") {
            spec.reduction = FeatureReduction::pool;
        } else if (reduction == "flatten") {
            spec.reduction = FeatureReduction::flatten;
        } else {
            std::string message = std::string(kExtraLayers) + ": '" + text + "': reduction '" +
                                  reduction + "' is not one of pool, flatten";
            const std::string guess = did_you_mean(reduction, {"pool", "flatten"});
            if (!guess.empty()) message += " (did you mean '" + guess + "'?)";
            throw ConfigError(message);
        }
    }
    const std::vector<std::string> names = feature_module_names(stem);
    if (std::find(names.begin(), names.end(), spec.module) == names.end()) {
        if (spec.module.size() > 5 &&
            spec.module.compare(spec.module.size() - 5, 5, ".relu") == 0 && spec.module != "relu") {
            throw ConfigError(std::string(kExtraLayers) + ": '" + text + "': a block's relu " +
                              "runs twice (after bn1 and after the sum), so its output is not " +
                              "one tensor; name the block (its output) or its bn1");
        }
        unknown_module(text, spec.module, stem);
    }
    return spec;
}

ResNet18Options resnet18_options(const ModelConfig& config, std::int64_t dataset_classes) {
    if (config.arch != "resnet18") {
        throw ConfigError("model.arch: '" + config.arch + "' is not supported (resnet18)");
    }
    ResNet18Options options;
    if (config.stem == "imagenet") {
        options.stem(Stem::imagenet);
    } else if (config.stem == "cifar") {
        options.stem(Stem::cifar);
    } else {
        throw ConfigError("model.stem: '" + config.stem + "' is not one of imagenet, cifar");
    }
    const std::int64_t classes = config.num_classes == 0 ? dataset_classes : config.num_classes;
    options.width(config.width).dropout(config.dropout).num_classes(classes);
    check_options(options);
    std::vector<FeatureSpec> specs;
    for (const std::string& text : config.extra_layers) {
        FeatureSpec spec = parse_feature_spec(text, options.stem());
        for (const FeatureSpec& other : specs) {
            if (other.module == spec.module && other.reduction == spec.reduction) {
                throw ConfigError(std::string(kExtraLayers) + ": '" + text +
                                  "' computes the same features as '" + other.text +
                                  "'; list one of them");
            }
        }
        specs.push_back(std::move(spec));
    }
    return options;
}

BasicBlockImpl::BasicBlockImpl(std::int64_t in_channels, std::int64_t out_channels,
                               std::int64_t stride) {
    // torchvision's _make_layer builds downsample before the block; registration order (and
    // so state_dict order) is conv1, bn1, relu, conv2, bn2, downsample.
    torch::nn::Sequential downsample{nullptr};
    if (stride != 1 || in_channels != out_channels) {
        downsample = torch::nn::Sequential(
            make_conv(in_channels, out_channels, /*kernel=*/1, stride, /*padding=*/0),
            torch::nn::BatchNorm2d(out_channels));
    }
    conv1_ = register_module(
        "conv1", make_conv(in_channels, out_channels, /*kernel=*/3, stride, /*padding=*/1));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out_channels));
    relu_ = register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
    conv2_ = register_module(
        "conv2", make_conv(out_channels, out_channels, /*kernel=*/3, /*stride=*/1, /*padding=*/1));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out_channels));
    if (downsample) downsample_ = register_module("downsample", downsample);
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
    return forward_tapped(x, /*prefix=*/"", nullptr);
}

torch::Tensor BasicBlockImpl::forward_tapped(
    const torch::Tensor& x, const std::string& prefix,
    const std::function<void(const std::string&, const torch::Tensor&)>& tap) {
    const auto at = [&](const char* name, const torch::Tensor& y) {
        if (tap) tap(prefix + name, y);
    };
    torch::Tensor out = conv1_->forward(x);
    at(".conv1", out);
    out = bn1_->forward(out);
    at(".bn1", out); // before the in-place relu
    out = relu_->forward(out);
    out = conv2_->forward(out);
    at(".conv2", out);
    out = bn2_->forward(out);
    at(".bn2", out); // before the in-place sum
    if (downsample_) {
        // What downsample_->forward(x) computes, module by module.
        torch::Tensor identity = downsample_->ptr<torch::nn::Conv2dImpl>(0)->forward(x);
        at(".downsample.0", identity);
        identity = downsample_->ptr(1)->as<torch::nn::BatchNorm2dImpl>()->forward(identity);
        at(".downsample.1", identity);
        at(".downsample", identity);
        out += identity;
    } else {
        out += x;
    }
    return relu_->forward(out);
}

std::vector<torch::nn::Conv2d> BasicBlockImpl::convs_constructed() const {
    std::vector<torch::nn::Conv2d> convs;
    if (downsample_) convs.push_back(torch::nn::Conv2d(downsample_->ptr<torch::nn::Conv2dImpl>(0)));
    convs.push_back(conv1_);
    convs.push_back(conv2_);
    return convs;
}

std::vector<torch::nn::Conv2d> BasicBlockImpl::convs_registered() const {
    std::vector<torch::nn::Conv2d> convs = {conv1_, conv2_};
    if (downsample_) convs.push_back(torch::nn::Conv2d(downsample_->ptr<torch::nn::Conv2dImpl>(0)));
    return convs;
}

ResNet18Impl::ResNet18Impl(const ResNet18Options& options, std::uint64_t init_seed)
    : options_(options) {
    check_options(options_);
    const GlobalCpuGeneratorGuard keep_global_generator;
    const double w = options_.width();
    const std::int64_t stem_channels = scaled_channels(kStemChannels, w);
    if (options_.stem() == Stem::imagenet) {
        conv1_ = register_module("conv1", make_conv(options_.in_channels(), stem_channels,
                                                    /*kernel=*/7, /*stride=*/2, /*padding=*/3));
    } else {
        conv1_ = register_module("conv1", make_conv(options_.in_channels(), stem_channels,
                                                    /*kernel=*/3, /*stride=*/1, /*padding=*/1));
    }
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(stem_channels));
    relu_ = register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
    if (options_.stem() == Stem::imagenet) {
        maxpool_ = register_module(
            "maxpool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(/*kernel_size=*/3)
                                                .stride(/*stride=*/2)
                                                .padding(/*padding=*/1)));
    }
    std::int64_t in_channels = stem_channels;
    for (std::size_t stage = 0; stage < std::size(kStageChannels); ++stage) {
        const std::int64_t out_channels = scaled_channels(kStageChannels[stage], w);
        torch::nn::Sequential layer;
        for (std::int64_t b = 0; b < kBlocksPerStage; ++b) {
            const std::int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
            BasicBlock block(in_channels, out_channels, stride);
            layer->push_back(block);
            blocks_.push_back(block);
            in_channels = out_channels;
        }
        layers_.push_back(register_module("layer" + std::to_string(stage + 1), layer));
    }
    avgpool_ = register_module(
        "avgpool", torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions({1, 1})));
    dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout()));
    fc_ = register_module("fc", torch::nn::Linear(in_channels, options_.num_classes()));
    reset_parameters(init_seed);
}

torch::Tensor max_pool_cpu_fast(torch::nn::MaxPool2d& pool, const torch::Tensor& x) {
    // LibTorch's CPU max pool over a contiguous (NCHW) tensor takes about 10 times as long as the
    // same pool over channels-last memory (3 ms of a 37 ms training step, x0.5 model at batch
    // 128). A max is exact, both kernels scan a window in the same order (rows, then columns; the
    // first maximum wins) and backward adds each output's gradient into its input in output
    // order, so the detour gives the same bits (test_resnet:
    // MaxPool.ChannelsLastDetourBitIdentical).
    if (!x.device().is_cpu() || x.dim() != 4 || !x.is_contiguous()) return pool->forward(x);
    return pool->forward(x.contiguous(at::MemoryFormat::ChannelsLast)).contiguous();
}

torch::Tensor
ResNet18Impl::trunk(const torch::Tensor& x,
                    const std::function<void(const std::string&, const torch::Tensor&)>& tap,
                    const std::string& last) {
    torch::Tensor y = conv1_->forward(x);
    // Each output goes to `tap` before the next module can overwrite it (relu is in place).
    const auto done = [&](const std::string& name) {
        if (tap) tap(name, y);
        return last == name;
    };
    if (done("conv1")) return y;
    y = bn1_->forward(y);
    if (done("bn1")) return y;
    y = relu_->forward(y);
    if (done("relu")) return y;
    if (maxpool_) {
        y = max_pool_cpu_fast(maxpool_, y);
        if (done("maxpool")) return y;
    }
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        const std::string layer = "layer" + std::to_string(i + 1);
        if (!tap) {
            y = layers_[i]->forward(y);
        } else {
            // The stage's blocks one by one, as its Sequential runs them, with their taps.
            for (std::size_t b = 0; b < static_cast<std::size_t>(kBlocksPerStage); ++b) {
                const std::string block = layer + "." + std::to_string(b);
                y = blocks_[i * kBlocksPerStage + b]->forward_tapped(y, block, tap);
                tap(block, y);
            }
        }
        if (done(layer)) return y;
    }
    y = avgpool_->forward(y);
    done("avgpool");
    return y;
}

torch::Tensor ResNet18Impl::features(const torch::Tensor& x) {
    return trunk(x, nullptr).flatten(/*start_dim=*/1);
}

torch::Tensor ResNet18Impl::forward(const torch::Tensor& x) {
    return fc_->forward(dropout_->forward(features(x)));
}

torch::Tensor ResNet18Impl::head(const torch::Tensor& features) {
    return fc_->forward(dropout_->forward(features));
}

std::function<void(const std::string&, const torch::Tensor&)> ResNet18Impl::module_tap(
    const std::set<std::string>& modules,
    const std::function<void(const std::string&, const torch::Tensor&)>& take) {
    const bool notebook = modules.count(kNotebookFeature) != 0;
    return [this, &modules, take, notebook](const std::string& name, const torch::Tensor& y) {
        if (modules.count(name) != 0) take(name, y);
        if (notebook && name == "layer4") {
            // The notebook's bug, reproduced: layer4[1] once more on layer4's output; its taps
            // are named "notebook:layer4.1.*", so kNotebookFeature is that pass's conv2.
            blocks_.back()->forward_tapped(y, "notebook:layer4.1",
                                           [&](const std::string& n, const torch::Tensor& t) {
                                               if (n == kNotebookFeature) take(n, t);
                                           });
        }
    };
}

ResNetOutputs ResNet18Impl::forward_with_features(const torch::Tensor& x,
                                                  const std::vector<std::string>& names) {
    std::map<std::string, std::vector<FeatureSpec>> by_module;
    std::set<std::string> modules;
    for (const std::string& name : names) {
        FeatureSpec spec = parse_feature_spec(name, options_.stem());
        modules.insert(spec.module);
        by_module[spec.module].push_back(std::move(spec));
    }
    ResNetOutputs out;
    const auto take = [&](const std::string& module, const torch::Tensor& y) {
        for (const FeatureSpec& spec : by_module.at(module))
            out.layers[spec.text] = reduced(y, spec.reduction);
    };
    out.features =
        trunk(x, names.empty() ? nullptr : module_tap(modules, take)).flatten(/*start_dim=*/1);
    out.logits = fc_->forward(dropout_->forward(out.features));
    return out;
}

torch::Tensor ResNet18Impl::feature_map(const torch::Tensor& x, const std::string& name) {
    const FeatureSpec spec = parse_feature_spec(name, options_.stem());
    const std::set<std::string> modules = {spec.module};
    torch::Tensor map;
    // A clone: the stem's relu would otherwise overwrite bn1's output in place.
    const auto take = [&](const std::string&, const torch::Tensor& y) { map = y.clone(); };
    trunk(x, module_tap(modules, take), enclosing_layer(spec.module));
    return map;
}

void ResNet18Impl::reset_parameters(std::uint64_t seed) {
    torch::NoGradGuard no_grad;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    // torchvision's constructors draw nn.Conv2d's default init (overwritten below) and
    // nn.Linear's (kept) in construction order; the same draws keep the generator in step so
    // that the values equal torchvision's after torch.manual_seed(seed).
    default_init(conv1_->weight, nullptr, gen);
    for (const BasicBlock& block : blocks_) {
        for (const torch::nn::Conv2d& conv : block->convs_constructed()) {
            default_init(conv->weight, nullptr, gen);
        }
    }
    default_init(fc_->weight, &fc_->bias, gen);
    // Then its init loop over self.modules(), in registration order.
    kaiming_normal_fan_out(conv1_->weight, gen);
    for (const BasicBlock& block : blocks_) {
        for (const torch::nn::Conv2d& conv : block->convs_registered()) {
            kaiming_normal_fan_out(conv->weight, gen);
        }
    }
    for (const auto& module : modules(/*include_self=*/false)) {
        if (auto* bn = module->as<torch::nn::BatchNorm2dImpl>()) bn->reset_parameters();
    }
}

void ResNet18Impl::reset_fc(std::uint64_t seed) {
    torch::NoGradGuard no_grad;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    default_init(fc_->weight, &fc_->bias, gen);
}

} // namespace sp
