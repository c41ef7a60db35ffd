#include "sp/data/transforms.hpp"

#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace sp {

void fisher_yates(std::vector<std::int64_t>& values, SplitMixRng& rng) {
    for (std::size_t i = values.size(); i > 1; --i) {
        const auto j = static_cast<std::size_t>(rng.below(i));
        std::swap(values[i - 1], values[j]);
    }
}

std::vector<std::int64_t> epoch_order(const std::vector<std::int64_t>& subset, bool shuffle,
                                      std::uint64_t data_seed, std::int64_t epoch) {
    std::vector<std::int64_t> order = subset;
    if (shuffle) {
        SplitMixRng rng(mix_seed(data_seed, static_cast<std::uint64_t>(epoch)));
        fisher_yates(order, rng);
    }
    return order;
}

std::uint64_t sample_seed(std::uint64_t data_seed, std::int64_t epoch,
                          std::int64_t index) noexcept {
    return mix_seed(mix_seed(data_seed, static_cast<std::uint64_t>(epoch)),
                    static_cast<std::uint64_t>(index));
}

namespace {

// One value per output channel: a single value broadcasts.
std::vector<float> per_channel(const std::vector<double>& values, std::int64_t channels,
                               const std::string& key, const std::string& dataset) {
    const auto n = static_cast<std::size_t>(channels);
    if (values.size() != 1 && values.size() != n) {
        throw ConfigError(key + ": " + std::to_string(values.size()) + " values for " +
                          std::to_string(channels) + "-channel input to the model (dataset " +
                          dataset + "); give 1 or " + std::to_string(channels));
    }
    std::vector<float> out(n);
    for (std::size_t c = 0; c < n; ++c) {
        out[c] = static_cast<float>(values.size() == 1 ? values[0] : values[c]);
    }
    return out;
}

} // namespace

TransformSpec make_transform_spec(const DatasetConfig& config, const DatasetFacts& facts,
                                  const ImageSet& images, std::int64_t model_channels) {
    if (images.channels <= 0 || images.height <= 0 || images.width <= 0) {
        throw DataError("dataset " + config.name + ": images have no shape (" +
                        std::to_string(images.channels) + " x " + std::to_string(images.height) +
                        " x " + std::to_string(images.width) + ")");
    }
    if (model_channels != images.channels && images.channels != 1) {
        throw ConfigError("dataset.name: " + config.name + " has " +
                          std::to_string(images.channels) + " channels, the model " +
                          std::to_string(model_channels) +
                          "; only 1-channel data can be replicated");
    }
    if (config.resize < 0) {
        throw ConfigError("dataset.resize: " + std::to_string(config.resize) + " is negative");
    }
    if (config.augment && config.crop_padding < 0) {
        throw ConfigError("dataset.crop_padding: " + std::to_string(config.crop_padding) +
                          " is negative");
    }
    TransformSpec s;
    s.in_channels = images.channels;
    s.in_height = images.height;
    s.in_width = images.width;
    s.out_channels = model_channels;
    s.out_height = config.resize > 0 ? config.resize : images.height;
    s.out_width = config.resize > 0 ? config.resize : images.width;
    s.mean = per_channel(config.mean.empty() ? facts.mean : config.mean, model_channels,
                         "dataset.mean", config.name);
    s.std = per_channel(config.std.empty() ? facts.std : config.std, model_channels, "dataset.std",
                        config.name);
    s.augment = config.augment;
    s.crop_padding = config.augment ? config.crop_padding : 0;
    s.hflip = config.augment && config.hflip;
    s.channels_last = config.channels_last;
    return s;
}

AugmentDraw no_augment(const TransformSpec& spec) noexcept {
    return {spec.crop_padding, spec.crop_padding, false};
}

AugmentDraw draw_augment(const TransformSpec& spec, std::uint64_t seed) noexcept {
    if (!spec.augment) return no_augment(spec);
    SplitMixRng rng(seed);
    const auto positions = static_cast<std::uint64_t>(2 * spec.crop_padding + 1);
    AugmentDraw d;
    d.top = static_cast<std::int64_t>(rng.below(positions));
    d.left = static_cast<std::int64_t>(rng.below(positions));
    d.flip = spec.hflip && (rng.next() >> 63U) != 0;
    return d;
}

namespace {

// Bilinear taps of torch's upsample_bilinear2d (align_corners=False) along one axis, with the
// precisions of ATen's CPU kernel for float tensors (weights bit-identical to LibTorch 1.13's,
// checked by the oracle test): scale = in / out in float; source = scale * (dst + 0.5) - 0.5 in
// double, clamped at 0; i0 = floor(source), i1 = i0 + 1 except at the last pixel;
// w1 = float(source - i0), w0 = 1 - w1 in float.
void bilinear_taps(std::int64_t in, std::int64_t out, std::vector<std::int64_t>& i0,
                   std::vector<std::int64_t>& i1, std::vector<float>& w0, std::vector<float>& w1) {
    const auto n = static_cast<std::size_t>(out);
    i0.resize(n);
    i1.resize(n);
    w0.resize(n);
    w1.resize(n);
    const auto scale = static_cast<double>(static_cast<float>(in) / static_cast<float>(out));
    for (std::size_t k = 0; k < n; ++k) {
        const double src = std::max(scale * (static_cast<double>(k) + 0.5) - 0.5, 0.0);
        const auto lo = std::min(static_cast<std::int64_t>(src), in - 1);
        const double lambda = std::min(std::max(src - static_cast<double>(lo), 0.0), 1.0);
        i0[k] = lo;
        i1[k] = lo + (lo < in - 1 ? 1 : 0);
        w1[k] = static_cast<float>(lambda);
        w0[k] = 1.0F - w1[k];
    }
}

// Unit-scale lookup (byte / 255, torchvision's to_tensor) for the stage before a resize.
const float* unit_lut() {
    static const std::vector<float> lut = [] {
        std::vector<float> t(256);
        for (std::size_t v = 0; v < t.size(); ++v) t[v] = static_cast<float>(v) / 255.0F;
        return t;
    }();
    return lut.data();
}

// One channel plane of the padded-cropped-flipped image, each byte mapped through `lut`:
// output (y, x) reads padded pixel (y + top, x' + left) with x' = flip ? w - 1 - x : x, i.e.
// source (y + top - p, x' + left - p), and pixel value 0 outside the source. Pixel (y, x) goes to
// dst[(y * w + x) * step]. The in-range span of every row is computed once so the inner loops
// have no per-pixel branch.
void augment_plane(const std::uint8_t* src, std::int64_t h, std::int64_t w, std::int64_t pad,
                   const AugmentDraw& d, const float* lut, float* dst, std::int64_t step) {
    const std::int64_t dy = d.top - pad;
    const std::int64_t dx = d.left - pad;
    const float zero = lut[0];
    // Columns x in [x0, x1) read a source pixel; the others are padding.
    const std::int64_t x0 = d.flip ? std::max<std::int64_t>(0, dx) : std::max<std::int64_t>(0, -dx);
    const std::int64_t x1 = d.flip ? std::min(w, w + dx) : std::min(w, w - dx);
    for (std::int64_t y = 0; y < h; ++y) {
        float* row = dst + y * w * step;
        const std::int64_t sy = y + dy;
        if (sy < 0 || sy >= h || x1 <= x0) {
            for (std::int64_t x = 0; x < w; ++x) row[x * step] = zero;
            continue;
        }
        const std::uint8_t* srow = src + sy * w;
        for (std::int64_t x = 0; x < x0; ++x) row[x * step] = zero;
        if (d.flip) {
            const std::uint8_t* s = srow + (w - 1 + dx);
            for (std::int64_t x = x0; x < x1; ++x) row[x * step] = lut[s[-x]];
        } else {
            const std::uint8_t* s = srow + dx;
            if (step == 1) {
                for (std::int64_t x = x0; x < x1; ++x) row[x] = lut[s[x]];
            } else {
                for (std::int64_t x = x0; x < x1; ++x) row[x * step] = lut[s[x]];
            }
        }
        for (std::int64_t x = x1; x < w; ++x) row[x * step] = zero;
    }
}

} // namespace

ImageTransform::ImageTransform(TransformSpec spec) : spec_(std::move(spec)) {
    const TransformSpec& s = spec_;
    if (s.in_channels <= 0 || s.in_height <= 0 || s.in_width <= 0 || s.out_height <= 0 ||
        s.out_width <= 0) {
        throw ConfigError("transform: image sizes must be positive (input " +
                          std::to_string(s.in_channels) + " x " + std::to_string(s.in_height) +
                          " x " + std::to_string(s.in_width) + ", output " +
                          std::to_string(s.out_height) + " x " + std::to_string(s.out_width) + ")");
    }
    if (s.out_channels != s.in_channels && s.in_channels != 1) {
        throw ConfigError("transform: cannot turn " + std::to_string(s.in_channels) +
                          " channels into " + std::to_string(s.out_channels));
    }
    const auto n = static_cast<std::size_t>(s.out_channels);
    if (s.mean.size() != n || s.std.size() != n) {
        throw ConfigError("transform: mean and std need " + std::to_string(n) + " values each");
    }
    for (std::size_t c = 0; c < n; ++c) {
        if (!(s.std[c] > 0.0F) || !std::isfinite(s.std[c]) || !std::isfinite(s.mean[c])) {
            throw ConfigError("dataset.std: channel " + std::to_string(c) +
                              " needs a finite mean and a positive finite std");
        }
    }
    if (s.crop_padding < 0) {
        throw ConfigError("dataset.crop_padding: " + std::to_string(s.crop_padding) +
                          " is negative");
    }
    // Same float operations as to_tensor then normalize: (v / 255 - mean) / std, so the lookup
    // reproduces torchvision's values rather than approximating them with a multiply.
    lut_.resize(n * 256);
    for (std::size_t c = 0; c < n; ++c) {
        for (std::size_t v = 0; v < 256; ++v) {
            lut_[c * 256 + v] = (static_cast<float>(v) / 255.0F - s.mean[c]) / s.std[c];
        }
    }
    if (s.resizes()) {
        bilinear_taps(s.in_height, s.out_height, row0_, row1_, row_w0_, row_w1_);
        bilinear_taps(s.in_width, s.out_width, col0_, col1_, col_w0_, col_w1_);
    }
}

void ImageTransform::apply(const std::uint8_t* image, const AugmentDraw& draw, float* out,
                           std::vector<float>& workspace) const {
    const std::int64_t span = 2 * spec_.crop_padding;
    SP_CHECK(draw.top >= 0 && draw.top <= span && draw.left >= 0 && draw.left <= span,
             "crop offset outside the padded image");
    if (spec_.resizes()) {
        apply_resized(image, draw, out, workspace);
    } else {
        apply_direct(image, draw, out);
    }
}

void ImageTransform::apply_direct(const std::uint8_t* image, const AugmentDraw& draw,
                                  float* out) const {
    const TransformSpec& s = spec_;
    const std::int64_t plane = s.in_height * s.in_width;
    for (std::int64_t c = 0; c < s.out_channels; ++c) {
        const std::int64_t from = s.in_channels == s.out_channels ? c : 0;
        float* dst = s.channels_last ? out + c : out + c * plane;
        augment_plane(image + from * plane, s.in_height, s.in_width, s.crop_padding, draw,
                      lut_.data() + c * 256, dst, s.channels_last ? s.out_channels : 1);
    }
}

void ImageTransform::apply_resized(const std::uint8_t* image, const AugmentDraw& draw, float* out,
                                   std::vector<float>& workspace) const {
    const TransformSpec& s = spec_;
    const std::int64_t h = s.in_height;
    const std::int64_t w = s.in_width;
    const std::int64_t oh = s.out_height;
    const std::int64_t ow = s.out_width;
    const auto unit_floats = static_cast<std::size_t>(s.in_channels * h * w);
    const auto wide_floats = static_cast<std::size_t>(s.in_channels * h * ow);
    const std::size_t need = unit_floats + wide_floats + static_cast<std::size_t>(ow);
    if (workspace.size() < need) workspace.resize(need);
    float* unit = workspace.data();
    float* wide = unit + unit_floats;

    for (std::int64_t c = 0; c < s.in_channels; ++c) {
        augment_plane(image + c * h * w, h, w, s.crop_padding, draw, unit_lut(), unit + c * h * w,
                      /*step=*/1);
    }
    // Separable passes in the order of ATen's kernel, width taps inside height taps:
    // out = (a * w0 + b * w1) * h0 + (c * w0 + d * w1) * h1.
    for (std::int64_t r = 0; r < s.in_channels * h; ++r) {
        const float* in_row = unit + r * w;
        float* wide_row = wide + r * ow;
        for (std::int64_t x = 0; x < ow; ++x) {
            const auto k = static_cast<std::size_t>(x);
            wide_row[x] = in_row[col0_[k]] * col_w0_[k] + in_row[col1_[k]] * col_w1_[k];
        }
    }
    // Each interpolated row is computed once and normalised into every output channel made
    // from its source channel (three for replicated data); the contiguous case gets its own
    // unit-stride loop so the compiler vectorises it.
    const std::int64_t step = s.channels_last ? s.out_channels : 1;
    float* vrow = wide + wide_floats;
    for (std::int64_t from = 0; from < s.in_channels; ++from) {
        const float* plane = wide + from * h * ow;
        for (std::int64_t y = 0; y < oh; ++y) {
            const auto k = static_cast<std::size_t>(y);
            const float* t0 = plane + row0_[k] * ow;
            const float* t1 = plane + row1_[k] * ow;
            const float h0 = row_w0_[k];
            const float h1 = row_w1_[k];
            for (std::int64_t x = 0; x < ow; ++x) vrow[x] = t0[x] * h0 + t1[x] * h1;
            for (std::int64_t c = 0; c < s.out_channels; ++c) {
                if (s.in_channels == s.out_channels && c != from) continue;
                const auto cc = static_cast<std::size_t>(c);
                const float mean = s.mean[cc];
                const float sd = s.std[cc];
                if (step == 1) {
                    float* row = out + (c * oh + y) * ow;
                    for (std::int64_t x = 0; x < ow; ++x) row[x] = (vrow[x] - mean) / sd;
                } else {
                    float* row = out + y * ow * step + c;
                    for (std::int64_t x = 0; x < ow; ++x) row[x * step] = (vrow[x] - mean) / sd;
                }
            }
        }
    }
}

} // namespace sp
