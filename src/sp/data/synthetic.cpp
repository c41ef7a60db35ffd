#include "sp/data/load.hpp"
#include "sp/data/readers.hpp"

#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"
#include "sp/util/rng.hpp"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

namespace sp {
namespace {

// The generator's own seed ("SPSYNTH1"): the data depends on the configuration alone, never on a
// replicate's seeds, so every replicate of a sweep sees the same images and a cache can hold them.
constexpr std::uint64_t kSyntheticSeed = 0x53505359'4E544831ULL;
// Bumped whenever the images for a given configuration change; it enters the checksum.
constexpr int kGeneratorVersion = 1;

constexpr std::int64_t kPeriod = 65536; // phase units per sinusoid period
constexpr std::int64_t kHalf = kPeriod / 2;

// sin(2 pi p / kPeriod) * 32768 in integer arithmetic (Bhaskara I's approximation, error below
// 0.2 % of full scale): floating-point sin differs between libms, integers do not, so the pixels
// are the same on every platform and the checksum can stand for them.
std::int64_t fixed_sin(std::int64_t p) {
    p &= kPeriod - 1;
    const std::int64_t x = p % kHalf;
    const std::int64_t prod = x * (kHalf - x);
    const std::int64_t s = (32768 * 16 * prod) / (5 * kHalf * kHalf - 4 * prod);
    return p < kHalf ? s : -s;
}

// One wave vector per class, in cycles per image along x and y: the rings max(|kx|, |ky|) = 1,
// 2, ... of the half-plane ky > 0 or (ky = 0, kx > 0), so no two classes share an orientation
// and frequency, and the low rings (smooth patterns) are used first.
std::vector<std::pair<std::int64_t, std::int64_t>> wave_vectors(std::int64_t classes) {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (std::int64_t r = 1; static_cast<std::int64_t>(out.size()) < classes; ++r) {
        for (std::int64_t ky = 0; ky <= r; ++ky) {
            for (std::int64_t kx = -r; kx <= r; ++kx) {
                if (std::max(kx < 0 ? -kx : kx, ky) != r) continue;
                if (ky == 0 && kx <= 0) continue;
                out.emplace_back(kx, ky);
            }
        }
    }
    out.resize(static_cast<std::size_t>(classes));
    return out;
}

struct ClassStyle {
    std::int64_t kx = 0;
    std::int64_t ky = 0;
    std::vector<std::int64_t> base;      // per channel, grey level the pattern oscillates about
    std::vector<std::int64_t> amplitude; // per channel, signed: the colour of the stripes
};

std::vector<ClassStyle> class_styles(const SyntheticConfig& cfg) {
    const auto waves = wave_vectors(cfg.classes);
    std::vector<ClassStyle> styles;
    for (std::int64_t k = 0; k < cfg.classes; ++k) {
        SplitMixRng rng(mix_seed(kSyntheticSeed, static_cast<std::uint64_t>(k)));
        ClassStyle s;
        s.kx = waves[static_cast<std::size_t>(k)].first;
        s.ky = waves[static_cast<std::size_t>(k)].second;
        for (std::int64_t c = 0; c < cfg.channels; ++c) {
            s.base.push_back(/*lowest=*/88 + static_cast<std::int64_t>(rng.below(80)));
            const auto magnitude = /*lowest=*/36 + static_cast<std::int64_t>(rng.below(40));
            s.amplitude.push_back(rng.below(2) == 0 ? magnitude : -magnitude);
        }
        styles.push_back(std::move(s));
    }
    return styles;
}

// Image `index` of split `split_tag`: the class pattern at a random phase and contrast, plus
// independent uniform noise in [-24, 24] per pixel, clamped to 0..255.
void draw_image(const ClassStyle& s, std::int64_t size, std::uint64_t split_tag, std::int64_t index,
                std::uint8_t* out) {
    SplitMixRng rng(
        mix_seed(mix_seed(kSyntheticSeed, split_tag), static_cast<std::uint64_t>(index)));
    const auto phase = static_cast<std::int64_t>(rng.below(kPeriod));
    const auto contrast = /*lowest=*/160 + static_cast<std::int64_t>(rng.below(97)); // /256
    for (std::size_t c = 0; c < s.base.size(); ++c) {
        for (std::int64_t y = 0; y < size; ++y) {
            for (std::int64_t x = 0; x < size; ++x) {
                const std::int64_t m = ((s.kx * x + s.ky * y) % size + size) % size;
                const std::int64_t wave = fixed_sin(phase + m * kPeriod / size);
                const std::int64_t noise = static_cast<std::int64_t>(rng.below(49)) - 24;
                const std::int64_t v =
                    s.base[c] + (s.amplitude[c] * contrast * wave) / (256 * 32768) + noise;
                *out++ = static_cast<std::uint8_t>(std::clamp<std::int64_t>(v, 0, 255));
            }
        }
    }
}

ImageSet make_split(const SyntheticConfig& cfg, const std::vector<ClassStyle>& styles,
                    std::int64_t count, std::uint64_t split_tag) {
    ImageSet set;
    set.count = count;
    set.channels = cfg.channels;
    set.height = cfg.image_size;
    set.width = cfg.image_size;
    set.pixels.resize(static_cast<std::size_t>(count * set.image_bytes()));
    set.labels.resize(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
        const std::int64_t label = i % cfg.classes; // round robin: balanced to within one image
        set.labels[static_cast<std::size_t>(i)] = label;
        draw_image(styles[static_cast<std::size_t>(label)], cfg.image_size, split_tag, i,
                   set.image(i));
    }
    return set;
}

void check_config(const SyntheticConfig& cfg) {
    const auto fail = [](const std::string& key, const std::string& why) {
        throw ConfigError("dataset.synthetic." + key + ": " + why);
    };
    if (cfg.classes < 2) fail("classes", "must be >= 2, got " + std::to_string(cfg.classes));
    if (cfg.train_size < 1) fail("train_size", "must be >= 1");
    if (cfg.eval_size < 1) fail("eval_size", "must be >= 1");
    if (cfg.image_size < 1) fail("image_size", "must be >= 1");
    if (cfg.channels < 1 || cfg.channels > 3) {
        fail("channels", "must be 1 or 3, got " + std::to_string(cfg.channels));
    }
    // Keep every size product (pixels, phase arithmetic) far inside 64 bits.
    constexpr std::int64_t kMaxSide = 1 << 14;
    constexpr std::int64_t kMaxBytes = std::int64_t{1} << 40;
    if (cfg.image_size > kMaxSide) fail("image_size", "must be <= " + std::to_string(kMaxSide));
    const std::int64_t image_bytes = cfg.channels * cfg.image_size * cfg.image_size;
    if (cfg.train_size > kMaxBytes / image_bytes || cfg.eval_size > kMaxBytes / image_bytes ||
        cfg.train_size + cfg.eval_size > kMaxBytes / image_bytes) {
        fail("train_size", "the dataset would exceed 1 TiB");
    }
    if (cfg.classes > std::numeric_limits<std::int32_t>::max()) fail("classes", "too many");
}

} // namespace

std::string synthetic_checksum(const SyntheticConfig& cfg) {
    const std::string text = "sp synthetic v" + std::to_string(kGeneratorVersion) +
                             "\nclasses=" + std::to_string(cfg.classes) +
                             "\ntrain_size=" + std::to_string(cfg.train_size) +
                             "\neval_size=" + std::to_string(cfg.eval_size) +
                             "\nimage_size=" + std::to_string(cfg.image_size) +
                             "\nchannels=" + std::to_string(cfg.channels) + "\n";
    return sha256_hex(text);
}

DataSplits make_synthetic(const SyntheticConfig& cfg) {
    check_config(cfg);
    const std::vector<ClassStyle> styles = class_styles(cfg);
    DataSplits d;
    d.name = "synthetic";
    d.train = make_split(cfg, styles, cfg.train_size, /*split_tag=*/1);
    d.eval = make_split(cfg, styles, cfg.eval_size, /*split_tag=*/2);
    for (std::int64_t k = 0; k < cfg.classes; ++k)
        d.class_names.push_back("class" + std::to_string(k));
    d.source = "synthetic";
    d.checksum = synthetic_checksum(cfg);
    return d;
}

} // namespace sp
