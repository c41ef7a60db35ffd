#pragma once
/// Deterministic image transforms, from uint8 pixels to the float32 tensors a model reads. This
/// header does not include LibTorch: the kernels write raw float buffers; data/batches.hpp wraps
/// them into batches of torch tensors.
///
///     sp::TransformSpec spec = sp::make_transform_spec(cfg.dataset, facts, split.train,
///                                                      /*model_channels=*/3);
///     sp::ImageTransform xform(spec);
///     std::vector<float> out(xform.output_floats()), workspace;
///     sp::AugmentDraw draw = sp::draw_augment(spec, sp::sample_seed(data_seed, epoch, index));
///     xform.apply(split.train.image(index), draw, out.data(), workspace);
///
/// The transform of one image, in this order:
///  1. augmentation on the uint8 image (training only): zero-pad `crop_padding` pixels on each
///     side, crop the original H x W at (top, left) of the padded image, then flip horizontally
///     (torchvision's RandomCrop(size, padding) then RandomHorizontalFlip; the pad value is pixel
///     value 0, i.e. padding happens before normalisation);
///  2. to float: x / 255 (torchvision's to_tensor);
///  3. bilinear resize to out_height x out_width when it differs from the input size, with the
///     numerics of torch.nn.functional.interpolate(mode="bilinear", align_corners=False,
///     antialias=False) on the float image. PIL's resize (torchvision's Resize on PIL images)
///     filters with an antialiasing support when shrinking and works on rounded uint8; sp follows
///     the tensor path because it is specified exactly (the oracle test checks it to 1e-5);
///  4. normalisation (x - mean[c]) / std[c] per output channel (torchvision's normalize);
///  5. channel replication of 1-channel data to the model's channel count. Steps 4 and 5 commute
///     when mean and std hold one value; sp replicates first so that a config may also give one
///     mean/std per model channel.
///
/// Random choices: the order of an epoch is a Fisher-Yates shuffle driven by
/// SplitMixRng(mix_seed(data_seed, epoch)); the augmentation of dataset image i in epoch e comes
/// from SplitMixRng(sample_seed(data_seed, e, i)) and so does not depend on batch size, thread
/// count or evaluation order. Both use SplitMixRng (util/rng.hpp) and its unbiased below(n),
/// not the standard library's distributions, so every platform draws the same numbers.

#include "sp/config/dataset_facts.hpp"
#include "sp/config/experiment.hpp"
#include "sp/data/image_set.hpp"
#include "sp/util/rng.hpp"

#include <cstdint>
#include <vector>

namespace sp {

/// Shuffles `values` in place: for i = n-1 down to 1, swap values[i] with values[rng.below(i+1)].
void fisher_yates(std::vector<std::int64_t>& values, SplitMixRng& rng);

/// The order of epoch `epoch`: `subset` itself when `shuffle` is false, else `subset` shuffled by
/// fisher_yates with SplitMixRng(mix_seed(data_seed, epoch)).
std::vector<std::int64_t> epoch_order(const std::vector<std::int64_t>& subset, bool shuffle,
                                      std::uint64_t data_seed, std::int64_t epoch);

/// The seed of dataset image `index`'s augmentation in epoch `epoch`:
/// mix_seed(mix_seed(data_seed, epoch), index).
std::uint64_t sample_seed(std::uint64_t data_seed, std::int64_t epoch, std::int64_t index) noexcept;

/// Everything one image's transform needs, resolved (no defaults left).
struct TransformSpec {
    std::int64_t in_channels = 1; ///< channels of the stored images
    std::int64_t in_height = 0;   ///< pixels
    std::int64_t in_width = 0;
    std::int64_t out_channels = 1; ///< the model's channels: in_channels, or any count if 1
    std::int64_t out_height = 0;   ///< pixels after the resize (= in_height without one)
    std::int64_t out_width = 0;
    std::vector<float> mean;       ///< out_channels values, in units of pixel / 255
    std::vector<float> std;        ///< out_channels values, > 0
    bool augment = false;          ///< random crop with padding, and flip if `hflip`
    std::int64_t crop_padding = 0; ///< zero pixels added on each side before the crop
    bool hflip = false;            ///< horizontal flip with p = 0.5 when augmenting
    bool channels_last = false;    ///< output pixels interleaved (H x W x C) instead of planar

    /// True when out_height x out_width differs from the input size.
    bool resizes() const { return out_height != in_height || out_width != in_width; }
    /// Floats one transformed image occupies: out_channels * out_height * out_width.
    std::int64_t output_floats() const { return out_channels * out_height * out_width; }
};

/// The spec for images shaped like `images` (its channels, height, width) under `config`:
/// mean/std from the config, or from `facts` when the config leaves them empty; one value
/// broadcasts to every channel, else there must be one per model channel.
/// `model_channels` must equal images.channels, or images.channels must be 1 (replication).
/// Throws ConfigError naming the dataset.* key on an inconsistent combination.
TransformSpec make_transform_spec(const DatasetConfig& config, const DatasetFacts& facts,
                                  const ImageSet& images, std::int64_t model_channels);

/// The random choices of one image's augmentation.
struct AugmentDraw {
    std::int64_t top = 0;  ///< crop row in the padded image, in [0, 2 * crop_padding]
    std::int64_t left = 0; ///< crop column in the padded image, in [0, 2 * crop_padding]
    bool flip = false;     ///< flip horizontally after the crop
};

/// The identity augmentation of `spec`: top = left = crop_padding, no flip.
AugmentDraw no_augment(const TransformSpec& spec) noexcept;

/// Draws an augmentation from SplitMixRng(seed): top = below(2p + 1), then
/// left = below(2p + 1), then flip = the top bit of next() when spec.hflip. Returns
/// no_augment(spec) when spec.augment is false.
AugmentDraw draw_augment(const TransformSpec& spec, std::uint64_t seed) noexcept;

/// A transform with its tables precomputed (normalisation lookup per output channel, resize
/// indices and weights). Immutable after construction: apply() may run on many threads at once.
class ImageTransform {
  public:
    /// Validates `spec` (throws ConfigError on sizes or statistics that cannot work).
    explicit ImageTransform(TransformSpec spec);

    const TransformSpec& spec() const { return spec_; }
    /// Floats written by apply(): spec().output_floats().
    std::int64_t output_floats() const { return spec_.output_floats(); }

    /// Transforms one image: `image` points to in_channels x in_height x in_width bytes
    /// (channel-planar), `out` to output_floats() floats, written C x H x W, or H x W x C when
    /// spec().channels_last. `draw` must lie within the spec's padding (SP_CHECK). `workspace`
    /// is caller-owned scratch (grown on demand; keep one per thread and reuse it).
    void apply(const std::uint8_t* image, const AugmentDraw& draw, float* out,
               std::vector<float>& workspace) const;

  private:
    void apply_direct(const std::uint8_t* image, const AugmentDraw& draw, float* out) const;
    void apply_resized(const std::uint8_t* image, const AugmentDraw& draw, float* out,
                       std::vector<float>& workspace) const;

    TransformSpec spec_;
    std::vector<float> lut_; ///< out_channels x 256: normalised value of each byte
    // Bilinear taps: output row/column k reads source k0[k] and k1[k] with weights w0[k], w1[k].
    std::vector<std::int64_t> row0_, row1_, col0_, col1_;
    std::vector<float> row_w0_, row_w1_, col_w0_, col_w1_;
};

} // namespace sp
