#pragma once
/// ResNet18 as torchvision builds it: the same module tree, the same parameter and buffer names
/// (`named_parameters()` / `named_buffers()` keys equal
/// `torchvision.models.resnet18().state_dict()` keys, `num_batches_tracked` included), the same
/// forward computation and the same initialisation, drawn from an explicit seed instead of the
/// global generator.
///
///     sp::ResNet18 net(sp::resnet18_options(config.model, /*dataset_classes=*/10), seed_init);
///     // sp/model/weights.hpp: ImageNet trunk, this dataset's classifier
///     sp::load_state_dict_file(*net, config.model.pretrained, sp::LoadOptions{/*skip_fc=*/true});
///     torch::Tensor logits = net->forward(images);    // [B, classes]
///     torch::Tensor emb = net->features(images);      // [B, 512 * width], the penultimate layer
///     sp::ResNetOutputs out =
///         net->forward_with_features(images, {"layer3", "layer4.1.conv2:flatten"});
///     out.layers.at("layer3");                        // [B, 256 * width], global-average-pooled
///     out.layers.at("layer4.1.conv2:flatten");        // [B, C * H * W], conv2 before bn2 and relu
///
/// Extra features (`model.extra_layers`, parse_feature_spec()) name any module of torchvision's
/// `named_modules()` except fc, dropout and a block's relu (which runs twice in a block), with a
/// reduction: `layer3` or `layer3:pool` (global average over H x W), `layer4.1.conv2:flatten`
/// (every value, C * H * W). `notebook:layer4.1.conv2` is the paper notebook's CIFAR cosine
/// feature, a bug reproduced for comparability: layer4's output run through layer4[1] a second
/// time, that pass's conv2 output (before bn2 and relu), flattened
/// (results-schema/measures.md).
///
/// Options beyond torchvision, none of which adds a state_dict key:
/// - `stem = cifar`: conv1 is 3x3 stride 1 padding 1 and there is no max pool. Pooling has no
///   parameters, so the names are those of the imagenet stem; only conv1.weight's shape differs
///   ([C, in, 3, 3] instead of [C, in, 7, 7]).
/// - `width`: every channel count is round(base * width), at least 1 (base 64, 128, 256, 512);
///   width 1.0 is exactly torchvision's network.
/// - `dropout`: a torch::nn::Dropout named "dropout" between the pooled features and fc.
///   Dropout draws its masks from LibTorch's global generator (the caller seeds it from the
///   replicate's dropout stream); torchvision's resnet18 has no dropout.

#include "sp/config/experiment.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sp {

/// The first layers: torchvision's (7x7 stride 2 + 3x3 max pool) or the CIFAR variant (3x3 stride
/// 1).
enum class Stem { imagenet, cifar };

/// Hyperparameters of ResNet18; the defaults build torchvision's resnet18().
struct ResNet18Options {
    TORCH_ARG(Stem, stem) = Stem::imagenet;
    /// Channel multiplier (> 0); 1.0 = torchvision's 64-128-256-512.
    TORCH_ARG(double, width) = 1.0;
    /// Outputs of fc (>= 1).
    TORCH_ARG(std::int64_t, num_classes) = 1000;
    /// Channels of the input images (>= 1).
    TORCH_ARG(std::int64_t, in_channels) = 3;
    /// Dropout probability before fc, in [0, 1); 0 = none.
    TORCH_ARG(double, dropout) = 0.0;
};

/// Options from a config: `num_classes` 0 means `dataset_classes`. Throws ConfigError naming the
/// key (`model.arch`, `model.stem`, `model.width`, `model.dropout`, `model.num_classes`,
/// `model.extra_layers`) when a value is out of range or names no layer of this network.
ResNet18Options resnet18_options(const ModelConfig& config, std::int64_t dataset_classes);

/// round(base * width), at least 1: the channel count of a stage at this width multiplier.
std::int64_t scaled_channels(std::int64_t base, double width);

/// The top-level layers of a stem, in forward order: conv1, bn1, relu, maxpool (imagenet stem
/// only), layer1 .. layer4, avgpool.
std::vector<std::string> feature_layer_names(Stem stem);

/// Every module name an extra feature may take, in torchvision's named_modules() order (a parent
/// before its children): the layers of feature_layer_names(), each block `layerN.B` (B = 0, 1)
/// with its conv1, bn1, conv2 and bn2, and `layerN.0.downsample`, `.downsample.0` (its conv) and
/// `.downsample.1` (its bn) for N = 2 .. 4. Not fc, dropout or a block's relu.
std::vector<std::string> feature_module_names(Stem stem);

/// How a module's output [B, C, H, W] becomes one row per image.
enum class FeatureReduction {
    pool,    ///< global average over H x W: [B, C]
    flatten, ///< every value in PyTorch's flatten(1) order (channel, row, column): [B, C * H * W]
};

/// The name of the paper notebook's CIFAR cosine feature (see FeatureSpec).
inline constexpr const char* kNotebookFeature = "notebook:layer4.1.conv2";

/// One entry of `model.extra_layers`, parsed: `<module>`, `<module>:pool` or `<module>:flatten`
/// (<module> one of feature_module_names(); pooled when no reduction is given), or exactly
/// kNotebookFeature: layer4's output run through layer4[1] a second time, that pass's conv2
/// output before bn2 and relu, flattened (for the notebook's 32 x 32 CIFAR inputs with the
/// imagenet stem, [B, 512]).
struct FeatureSpec {
    std::string text;   ///< as written; names /eval/extra/<text> and /metrics/features/<text>
    std::string module; ///< whose output is taken: "layer4.1.conv2", or kNotebookFeature
    FeatureReduction reduction = FeatureReduction::pool;
};

/// Parses one `model.extra_layers` entry for a network with this stem. Throws ConfigError
/// naming `model.extra_layers` (with a did-you-mean) for an unknown module or reduction.
FeatureSpec parse_feature_spec(const std::string& text, Stem stem);

/// torchvision's BasicBlock: conv3x3-bn-relu-conv3x3-bn, plus the identity or a 1x1 conv + bn
/// `downsample` when the shape changes, then relu.
class BasicBlockImpl : public torch::nn::Module {
  public:
    /// A block from `in_channels` to `out_channels` with the first conv's `stride`.
    BasicBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride);

    /// [B, in, H, W] -> [B, out, H / stride, W / stride].
    torch::Tensor forward(torch::Tensor x);

    /// forward(), the same computation, handing each sub-module's output to `tap` as
    /// `prefix + ".conv1"`, ".bn1", ".conv2", ".bn2", ".downsample.0", ".downsample.1",
    /// ".downsample", each before any later in-place op overwrites it (a null tap: none).
    torch::Tensor
    forward_tapped(const torch::Tensor& x, const std::string& prefix,
                   const std::function<void(const std::string&, const torch::Tensor&)>& tap);

    /// The convolutions in torchvision's construction order (downsample first, then conv1,
    /// conv2) and in its module order (conv1, conv2, downsample): initialisation follows both.
    std::vector<torch::nn::Conv2d> convs_constructed() const;
    /// The convolutions in registration order: conv1, conv2, downsample's.
    std::vector<torch::nn::Conv2d> convs_registered() const;

  private:
    torch::nn::Conv2d conv1_{nullptr};
    torch::nn::BatchNorm2d bn1_{nullptr};
    torch::nn::ReLU relu_{nullptr};
    torch::nn::Conv2d conv2_{nullptr};
    torch::nn::BatchNorm2d bn2_{nullptr};
    torch::nn::Sequential downsample_{nullptr}; ///< null when the shape is kept
};
TORCH_MODULE(BasicBlock);

/// pool->forward(x), the same bits; a contiguous 4-D CPU input goes through channels-last memory,
/// where LibTorch's kernel is about 10 times faster (forward and backward).
torch::Tensor max_pool_cpu_fast(torch::nn::MaxPool2d& pool, const torch::Tensor& x);

/// What forward_with_features() returns.
struct ResNetOutputs {
    torch::Tensor logits;   ///< [B, classes]
    torch::Tensor features; ///< [B, 512 * width], penultimate, before dropout
    /// model.extra_layers entry as written -> its rows: [B, C] pooled, [B, C * H * W] flattened
    std::map<std::string, torch::Tensor> layers;
};

/// ResNet18 (He et al. 2016) as torchvision.models.resnet18 builds it. Inputs are float tensors
/// [B, in_channels, H, W] on the module's device; H, W >= 32 for the imagenet stem
/// (>= 1 for the cifar stem).
class ResNet18Impl : public torch::nn::Module {
  public:
    /// Builds the network and initialises it from `init_seed` (see reset_parameters()).
    /// Construction leaves LibTorch's global generator as it found it. Throws ConfigError on
    /// out-of-range options.
    ResNet18Impl(const ResNet18Options& options, std::uint64_t init_seed);

    /// Logits [B, classes].
    torch::Tensor forward(const torch::Tensor& x);

    /// The penultimate features [B, 512 * width]: layer4's output, global-average-pooled.
    torch::Tensor features(const torch::Tensor& x);

    /// The head on penultimate features [B, 512 * width] (features() or
    /// forward_with_features().features): fc(dropout(features)), logits [B, classes]. forward(x)
    /// is head(features(x)), bit for bit, dropout's draws from the global generator included (in
    /// training mode one mask of the features' shape per call): what lets MC-dropout passes run
    /// the trunk once and only the head per pass.
    torch::Tensor head(const torch::Tensor& features);

    /// Logits, penultimate features and, for each of `names` (`model.extra_layers` entries, see
    /// parse_feature_spec()), that module's output pooled or flattened; one forward pass (plus
    /// layer4[1] once more for kNotebookFeature). The logits and features are those of
    /// forward() and features(), bit for bit. Meant for eval mode: in train mode the notebook's
    /// extra pass also updates layer4[1]'s BatchNorm statistics. Throws ConfigError naming
    /// `model.extra_layers` for a name that is not a module of this network.
    ResNetOutputs forward_with_features(const torch::Tensor& x,
                                        const std::vector<std::string>& names);

    /// The unreduced output [B, C, H', W'] of the module `name` (an entry of
    /// feature_module_names(), or kNotebookFeature; a `:pool` or `:flatten` suffix is
    /// ignored); for "avgpool" [B, C, 1, 1]. Throws ConfigError for an unknown name.
    torch::Tensor feature_map(const torch::Tensor& x, const std::string& name);

    /// torchvision's initialisation, drawn from a CPU generator seeded with `seed`: with the
    /// same seed, the values torchvision's resnet18 gets after `torch.manual_seed(seed)`
    /// (default-init draws of the constructors, then kaiming_normal_(fan_out, relu) for every
    /// conv, BN weight 1 and bias 0, fc with nn.Linear's default init). Running statistics are
    /// reset. The global generator is not used.
    void reset_parameters(std::uint64_t seed);

    /// Re-initialises fc alone with nn.Linear's default init from `seed` (the paper's protocol:
    /// pretrained trunk, new classifier).
    void reset_fc(std::uint64_t seed);

    /// The options the network was built with.
    const ResNet18Options& options() const noexcept { return options_; }

  private:
    // Runs the network, handing each module's output (before any later in-place op) to `tap`;
    // stops after `last` when it names a top-level layer. Returns avgpool's output.
    torch::Tensor trunk(const torch::Tensor& x,
                        const std::function<void(const std::string&, const torch::Tensor&)>& tap,
                        const std::string& last = "");

    // A trunk() tap that hands the output of each of `modules` (FeatureSpec::module names) to
    // `take`, running the notebook's extra pass when kNotebookFeature is among them. `modules`
    // must outlive the tap.
    std::function<void(const std::string&, const torch::Tensor&)>
    module_tap(const std::set<std::string>& modules,
               const std::function<void(const std::string&, const torch::Tensor&)>& take);

    ResNet18Options options_;
    torch::nn::Conv2d conv1_{nullptr};
    torch::nn::BatchNorm2d bn1_{nullptr};
    torch::nn::ReLU relu_{nullptr};
    torch::nn::MaxPool2d maxpool_{nullptr}; ///< null for the cifar stem
    std::vector<torch::nn::Sequential> layers_;
    std::vector<BasicBlock> blocks_; ///< the blocks of layers_, in order
    torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
    torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet18);

} // namespace sp
