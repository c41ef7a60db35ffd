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

void check_layer_name(const std::string& name, Stem stem) {
    const std::vector<std::string> names = feature_layer_names(stem);
    if (std::find(names.begin(), names.end(), name) != names.end()) return;
    std::string message = "model.extra_layers: '" + name + "' is not a layer of this resnet18";
    const std::string guess = did_you_mean(name, names);
    if (!guess.empty()) message += " (did you mean '" + guess + "'?)";
    throw ConfigError(message + "; layers: " + join(names, ", "));
}

torch::Tensor pooled(const torch::Tensor& y) {
    return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(/*start_dim=*/1);
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
    for (const std::string& name : config.extra_layers) check_layer_name(name, options.stem());
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
    torch::Tensor out = relu_->forward(bn1_->forward(conv1_->forward(x)));
    out = bn2_->forward(conv2_->forward(out));
    out += downsample_ ? downsample_->forward(x) : x;
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

torch::Tensor
ResNet18Impl::trunk(const torch::Tensor& x,
                    const std::function<void(const std::string&, const torch::Tensor&)>& tap,
                    const std::string& last) {
    torch::Tensor y = conv1_->forward(x);
    // Each output goes to `tap` before the next module can overwrite it (relu is in place).
    const auto done = [&](const char* name) {
        if (tap) tap(name, y);
        return last == name;
    };
    if (done("conv1")) return y;
    y = bn1_->forward(y);
    if (done("bn1")) return y;
    y = relu_->forward(y);
    if (done("relu")) return y;
    if (maxpool_) {
        y = maxpool_->forward(y);
        if (done("maxpool")) return y;
    }
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        y = layers_[i]->forward(y);
        if (done(("layer" + std::to_string(i + 1)).c_str())) return y;
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

ResNetOutputs ResNet18Impl::forward_with_features(const torch::Tensor& x,
                                                  const std::vector<std::string>& names) {
    for (const std::string& name : names) check_layer_name(name, options_.stem());
    const std::set<std::string> wanted(names.begin(), names.end());
    ResNetOutputs out;
    const auto tap = [&](const std::string& name, const torch::Tensor& y) {
        if (wanted.count(name) != 0) out.layers[name] = pooled(y);
    };
    out.features = trunk(x, tap).flatten(/*start_dim=*/1);
    out.logits = fc_->forward(dropout_->forward(out.features));
    return out;
}

torch::Tensor ResNet18Impl::feature_map(const torch::Tensor& x, const std::string& name) {
    check_layer_name(name, options_.stem());
    torch::Tensor map;
    // A clone: the stem's relu would otherwise overwrite bn1's output in place.
    const auto tap = [&](const std::string& n, const torch::Tensor& y) {
        if (n == name) map = y.clone();
    };
    trunk(x, tap, name);
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
