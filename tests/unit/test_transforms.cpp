// data/transforms: shuffles and augmentation draws, and every transform
// step against pixels computed by hand on tiny images.
#include "sp/data/transforms.hpp"
#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <set>
#include <vector>

using sp::AugmentDraw;
using sp::ImageTransform;
using sp::TransformSpec;

namespace {

// A spec for c x h x w bytes with one mean/std for every output channel.
TransformSpec tiny_spec(std::int64_t c, std::int64_t h, std::int64_t w, float mean, float sd,
                        std::int64_t padding = 0, std::int64_t out_channels = 0) {
    TransformSpec s;
    s.in_channels = c;
    s.in_height = h;
    s.in_width = w;
    s.out_channels = out_channels > 0 ? out_channels : c;
    s.out_height = h;
    s.out_width = w;
    s.mean.assign(static_cast<std::size_t>(s.out_channels), mean);
    s.std.assign(static_cast<std::size_t>(s.out_channels), sd);
    s.augment = padding > 0;
    s.crop_padding = padding;
    s.hflip = padding > 0;
    return s;
}

std::vector<float> run(const TransformSpec& spec, const std::vector<std::uint8_t>& image,
                       const AugmentDraw& draw) {
    const ImageTransform t(spec);
    std::vector<float> out(static_cast<std::size_t>(t.output_floats()), -999.0F);
    std::vector<float> workspace;
    t.apply(image.data(), draw, out.data(), workspace);
    return out;
}

// 4 x 4 image with pixel (y, x) = 10 * (4 * y + x) + 5: distinct, and none is 0.
std::vector<std::uint8_t> image_4x4() {
    std::vector<std::uint8_t> img(16);
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>(10 * i + 5);
    return img;
}

float normalized(int byte, float mean, float sd) {
    return (static_cast<float>(byte) / 255.0F - mean) / sd;
}

} // namespace

// --- The shuffle: the documented stream -------------------------

TEST(FisherYates, TwoElementsSwapExactlyWhenTheDrawIsZero) {
    for (std::uint64_t seed = 0; seed < 8; ++seed) {
        std::vector<std::int64_t> v = {10, 20};
        sp::SplitMixRng rng(seed);
        sp::fisher_yates(v, rng);
        const std::uint64_t j = sp::SplitMixRng(seed).below(2);
        EXPECT_EQ(v,
                  (j == 0 ? std::vector<std::int64_t>{20, 10} : std::vector<std::int64_t>{10, 20}));
    }
}

TEST(EpochOrder, IsASeededPermutationThatChangesWithSeedAndEpoch) {
    std::vector<std::int64_t> subset(200);
    std::iota(subset.begin(), subset.end(), 1000);
    const auto a = sp::epoch_order(subset, /*shuffle=*/true, /*data_seed=*/5, /*epoch=*/0);
    EXPECT_EQ(a, sp::epoch_order(subset, true, 5, 0));
    EXPECT_NE(a, subset);
    EXPECT_NE(a, sp::epoch_order(subset, true, 6, 0));
    EXPECT_NE(a, sp::epoch_order(subset, true, 5, 1));
    EXPECT_TRUE(std::is_permutation(a.begin(), a.end(), subset.begin()));
    EXPECT_EQ(sp::epoch_order(subset, /*shuffle=*/false, 5, 3), subset);

    // The documented derivation: Fisher-Yates under SplitMixRng(mix_seed(seed, epoch)).
    std::vector<std::int64_t> expect = subset;
    sp::SplitMixRng rng(sp::mix_seed(5, 0));
    for (std::size_t i = expect.size(); i > 1; --i) {
        std::swap(expect[i - 1], expect[static_cast<std::size_t>(rng.below(i))]);
    }
    EXPECT_EQ(a, expect);
}

TEST(SampleSeed, IsMixSeedOfEpochThenIndex) {
    EXPECT_EQ(sp::sample_seed(9, 2, 77), sp::mix_seed(sp::mix_seed(9, 2), 77));
    EXPECT_NE(sp::sample_seed(9, 2, 77), sp::sample_seed(9, 3, 77));
    EXPECT_NE(sp::sample_seed(9, 2, 77), sp::sample_seed(9, 2, 78));
}

// --- Augmentation draws
// ----------------------------------------------------------------------------

TEST(DrawAugment, CoversEveryOffsetAndBothFlipsWithinThePadding) {
    const TransformSpec spec = tiny_spec(1, 8, 8, 0.0F, 1.0F, /*padding=*/2);
    std::set<std::int64_t> tops;
    std::set<std::int64_t> lefts;
    std::set<bool> flips;
    for (std::int64_t i = 0; i < 500; ++i) {
        const AugmentDraw d = sp::draw_augment(spec, sp::sample_seed(1, 0, i));
        tops.insert(d.top);
        lefts.insert(d.left);
        flips.insert(d.flip);
        const AugmentDraw again = sp::draw_augment(spec, sp::sample_seed(1, 0, i));
        EXPECT_EQ(d.top, again.top);
        EXPECT_EQ(d.left, again.left);
        EXPECT_EQ(d.flip, again.flip);
    }
    EXPECT_EQ(tops, (std::set<std::int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(lefts, (std::set<std::int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(flips.size(), 2U);
}

TEST(DrawAugment, FollowsTheDocumentedDrawOrder) {
    const TransformSpec spec = tiny_spec(1, 8, 8, 0.0F, 1.0F, /*padding=*/3);
    sp::SplitMixRng rng(/*seed=*/123);
    const auto top = static_cast<std::int64_t>(rng.below(7));
    const auto left = static_cast<std::int64_t>(rng.below(7));
    const bool flip = (rng.next() >> 63U) != 0;
    const AugmentDraw d = sp::draw_augment(spec, /*seed=*/123);
    EXPECT_EQ(d.top, top);
    EXPECT_EQ(d.left, left);
    EXPECT_EQ(d.flip, flip);
}

TEST(DrawAugment, IsTheIdentityWithoutAugmentationAndNeverFlipsWithoutHflip) {
    TransformSpec spec = tiny_spec(1, 8, 8, 0.0F, 1.0F, /*padding=*/2);
    spec.augment = false;
    const AugmentDraw d = sp::draw_augment(spec, 99);
    EXPECT_EQ(d.top, 2);
    EXPECT_EQ(d.left, 2);
    EXPECT_FALSE(d.flip);
    spec.augment = true;
    spec.hflip = false;
    for (std::uint64_t s = 0; s < 64; ++s) EXPECT_FALSE(sp::draw_augment(spec, s).flip);
}

// --- Crop with zero padding, flip, normalise: hand-computed pixels of a 4 x 4 image, padding 1 --

TEST(ImageTransform, IdentityDrawOnlyNormalises) {
    const auto img = image_4x4();
    const auto out = run(tiny_spec(1, 4, 4, 0.5F, 0.25F, /*padding=*/1), img, {1, 1, false});
    for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ(out[i], normalized(img[i], 0.5F, 0.25F)) << i;
}

TEST(ImageTransform, CropAtTheTopLeftCornerShiftsInZeroPixels) {
    // Offset (0, 0) of the padded 6 x 6 image: output (y, x) = source (y - 1, x - 1), pixel 0
    // (normalised: (0 - 0.5) / 0.25 = -2) in the first row and column.
    const auto img = image_4x4();
    const auto out = run(tiny_spec(1, 4, 4, 0.5F, 0.25F, /*padding=*/1), img, {0, 0, false});
    const float pad = -2.0F;
    const float n0 = normalized(5, 0.5F, 0.25F);    // source (0, 0)
    const float n1 = normalized(15, 0.5F, 0.25F);   // source (0, 1)
    const float n4 = normalized(45, 0.5F, 0.25F);   // source (1, 0)
    const float n10 = normalized(105, 0.5F, 0.25F); // source (2, 2)
    EXPECT_EQ(normalized(0, 0.5F, 0.25F), pad);
    for (std::size_t x = 0; x < 4; ++x) EXPECT_EQ(out[x], pad) << x;
    for (std::size_t y = 0; y < 4; ++y) EXPECT_EQ(out[y * 4], pad) << y;
    EXPECT_EQ(out[1 * 4 + 1], n0);
    EXPECT_EQ(out[1 * 4 + 2], n1);
    EXPECT_EQ(out[2 * 4 + 1], n4);
    EXPECT_EQ(out[3 * 4 + 3], n10);
}

TEST(ImageTransform, CropAtTheBottomRightCornerAndFlip) {
    const auto img = image_4x4();
    const TransformSpec spec = tiny_spec(1, 4, 4, 0.0F, 1.0F, /*padding=*/1);
    // Offset (2, 2): output (y, x) = source (y + 1, x + 1); zeros in the last row and column.
    const auto out = run(spec, img, {2, 2, false});
    // Then flipped: output (y, x) = unflipped (y, 3 - x).
    const auto flipped = run(spec, img, {2, 2, true});
    for (int y = 0; y < 4; ++y) {
        for (int x = 0; x < 4; ++x) {
            const int sy = y + 1;
            const int sx = x + 1;
            const int byte = sy < 4 && sx < 4 ? img[static_cast<std::size_t>(sy * 4 + sx)] : 0;
            const auto at = static_cast<std::size_t>(y * 4 + x);
            EXPECT_EQ(out[at], static_cast<float>(byte) / 255.0F) << y << "," << x;
            EXPECT_EQ(flipped[static_cast<std::size_t>(y * 4 + (3 - x))], out[at]) << y << "," << x;
        }
    }
    // Spot values: unflipped (0, 0) = source (1, 1) = 55; flipped (0, 0) = pad.
    EXPECT_EQ(out[0], 55.0F / 255.0F);
    EXPECT_EQ(flipped[0], 0.0F);
    EXPECT_EQ(flipped[3], 55.0F / 255.0F);
}

TEST(ImageTransform, FlipWithoutCropMirrorsEveryRow) {
    const auto img = image_4x4();
    const auto out = run(tiny_spec(1, 4, 4, 0.0F, 1.0F, /*padding=*/1), img, {1, 1, true});
    const std::array<int, 4> row0 = {35, 25, 15, 5};
    for (std::size_t x = 0; x < 4; ++x) EXPECT_EQ(out[x], static_cast<float>(row0[x]) / 255.0F);
}

TEST(ImageTransform, PaddingWiderThanTheImageGivesAllPadPixels) {
    const auto img = image_4x4();
    const auto out = run(tiny_spec(1, 4, 4, 0.0F, 1.0F, /*padding=*/5), img, {0, 10, true});
    for (const float v : out) EXPECT_EQ(v, 0.0F);
}

TEST(ImageTransform, DrawOutsideThePaddingIsAnInternalError) {
    const auto img = image_4x4();
    EXPECT_THROW(run(tiny_spec(1, 4, 4, 0.0F, 1.0F, /*padding=*/1), img, {3, 0, false}),
                 sp::InternalError);
}

// --- Channels: per-channel statistics, replication, channels_last ------------------------------

TEST(ImageTransform, PerChannelStatisticsOnThreeChannels) {
    std::vector<std::uint8_t> img(3 * 2 * 2);
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>(20 * i);
    TransformSpec spec = tiny_spec(3, 2, 2, 0.0F, 1.0F);
    spec.mean = {0.1F, 0.2F, 0.3F};
    spec.std = {0.5F, 0.25F, 2.0F};
    const auto out = run(spec, img, sp::no_augment(spec));
    for (std::size_t c = 0; c < 3; ++c) {
        for (std::size_t p = 0; p < 4; ++p) {
            EXPECT_EQ(out[c * 4 + p], normalized(img[c * 4 + p], spec.mean[c], spec.std[c]));
        }
    }
}

TEST(ImageTransform, ReplicatesOneChannelToThreeWithPerChannelStatistics) {
    const auto img = image_4x4();
    TransformSpec spec = tiny_spec(1, 4, 4, 0.0F, 1.0F, /*padding=*/1, /*out_channels=*/3);
    spec.mean = {0.1F, 0.2F, 0.3F};
    spec.std = {0.5F, 0.25F, 2.0F};
    const auto out = run(spec, img, {0, 2, true});
    const auto plain = run(tiny_spec(1, 4, 4, 0.0F, 1.0F, /*padding=*/1), img, {0, 2, true});
    for (std::size_t c = 0; c < 3; ++c) {
        for (std::size_t p = 0; p < 16; ++p) {
            // Replicating then normalising per channel = the unit value, normalised.
            EXPECT_EQ(out[c * 16 + p], (plain[p] - spec.mean[c]) / spec.std[c]) << c << "," << p;
        }
    }
}

TEST(ImageTransform, ChannelsLastInterleavesTheSameValues) {
    std::vector<std::uint8_t> img(3 * 4 * 4);
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>(7 * i + 1);
    TransformSpec spec = tiny_spec(3, 4, 4, 0.4F, 0.3F, /*padding=*/1);
    const auto planar = run(spec, img, {0, 1, true});
    spec.channels_last = true;
    const auto last = run(spec, img, {0, 1, true});
    for (std::size_t c = 0; c < 3; ++c) {
        for (std::size_t p = 0; p < 16; ++p) EXPECT_EQ(last[p * 3 + c], planar[c * 16 + p]);
    }
}

// --- Resize: torch's bilinear taps (align_corners=False), worked by hand ------------------------

TEST(ImageTransform, BilinearUpsampleTwoToFour) {
    // Along an axis 2 -> 4: scale 0.5, source = 0.5 (k + 0.5) - 0.5 = -0.25 (clamped to 0),
    // 0.25, 0.75, 1.25 (taps 1 and 1): weights of pixel 1 are 0, 0.25, 0.75, 1.
    const std::vector<std::uint8_t> img = {0, 100, 200, 40};
    TransformSpec spec = tiny_spec(1, 2, 2, 0.0F, 1.0F);
    spec.out_height = 4;
    spec.out_width = 4;
    const auto out = run(spec, img, sp::no_augment(spec));
    const std::array<float, 4> w1 = {0.0F, 0.25F, 0.75F, 1.0F};
    for (std::size_t y = 0; y < 4; ++y) {
        const float a = 0.0F;
        const float b = 100.0F / 255.0F;
        const float c = 200.0F / 255.0F;
        const float d = 40.0F / 255.0F;
        for (std::size_t x = 0; x < 4; ++x) {
            const float top = a * (1 - w1[x]) + b * w1[x];
            const float bottom = c * (1 - w1[x]) + d * w1[x];
            EXPECT_NEAR(out[y * 4 + x], top * (1 - w1[y]) + bottom * w1[y], 1e-7) << y << "," << x;
        }
    }
}

TEST(ImageTransform, BilinearDownsampleAveragesNeighbours) {
    // 4 -> 2: scale 2, source = 2 (k + 0.5) - 0.5 = 0.5, 2.5: each output is the mean of a
    // 2 x 2 block (no antialiasing wider than that).
    std::vector<std::uint8_t> img(16);
    for (std::size_t i = 0; i < 16; ++i) img[i] = static_cast<std::uint8_t>(13 * i);
    TransformSpec spec = tiny_spec(1, 4, 4, 0.5F, 0.5F);
    spec.out_height = 2;
    spec.out_width = 2;
    const auto out = run(spec, img, sp::no_augment(spec));
    for (std::size_t y = 0; y < 2; ++y) {
        for (std::size_t x = 0; x < 2; ++x) {
            const std::size_t p = 2 * y * 4 + 2 * x;
            const float mean =
                (static_cast<float>(img[p] + img[p + 1] + img[p + 4] + img[p + 5])) / 4.0F / 255.0F;
            EXPECT_NEAR(out[y * 2 + x], (mean - 0.5F) / 0.5F, 1e-6) << y << "," << x;
        }
    }
}

TEST(ImageTransform, ResizeAppliesAfterTheCropAndBeforeReplication) {
    // Crop/flip first (on the original size), then resize: equals resizing the cropped image.
    const auto img = image_4x4();
    TransformSpec crop = tiny_spec(1, 4, 4, 0.0F, 1.0F, /*padding=*/1);
    const auto cropped = run(crop, img, {2, 0, true});
    std::vector<std::uint8_t> cropped_bytes(16);
    for (std::size_t i = 0; i < 16; ++i) {
        cropped_bytes[i] = static_cast<std::uint8_t>(std::lround(cropped[i] * 255.0F));
    }
    TransformSpec both = crop;
    both.out_channels = 3;
    both.mean.assign(3, 0.25F);
    both.std.assign(3, 0.5F);
    both.out_height = 7;
    both.out_width = 6;
    TransformSpec resize_only = both;
    resize_only.augment = false;
    resize_only.crop_padding = 0;
    const auto a = run(both, img, {2, 0, true});
    const auto b = run(resize_only, cropped_bytes, sp::no_augment(resize_only));
    ASSERT_EQ(a.size(), 3U * 7U * 6U);
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << i;
}

// --- Building the spec from the configuration --------------------------------------------------

// An empty image set that has only a shape: what make_transform_spec reads of the data.
sp::ImageSet shape_of(std::int64_t channels, std::int64_t height, std::int64_t width) {
    sp::ImageSet shape;
    shape.channels = channels;
    shape.height = height;
    shape.width = width;
    return shape;
}

TEST(MakeTransformSpec, DatasetStatisticsBroadcastAndConfigOverrides) {
    sp::DatasetConfig cfg;
    cfg.name = "fashion-mnist";
    const sp::DatasetFacts facts = sp::dataset_facts("fashion-mnist");
    const sp::ImageSet shape = shape_of(1, 28, 28);
    TransformSpec s = sp::make_transform_spec(cfg, facts, shape, /*model_channels=*/3);
    EXPECT_EQ(s.out_channels, 3);
    EXPECT_EQ(s.mean, std::vector<float>(3, 0.2860F));
    EXPECT_EQ(s.std, std::vector<float>(3, 0.3530F));
    EXPECT_FALSE(s.augment);
    EXPECT_EQ(s.crop_padding, 0);
    EXPECT_FALSE(s.resizes());

    cfg.mean = {0.1, 0.2, 0.3};
    cfg.augment = true;
    cfg.crop_padding = 2;
    cfg.hflip = false;
    cfg.resize = 32;
    cfg.channels_last = true;
    s = sp::make_transform_spec(cfg, facts, shape, /*model_channels=*/3);
    EXPECT_EQ(s.mean, (std::vector<float>{0.1F, 0.2F, 0.3F}));
    EXPECT_TRUE(s.augment);
    EXPECT_EQ(s.crop_padding, 2);
    EXPECT_FALSE(s.hflip);
    EXPECT_EQ(s.out_height, 32);
    EXPECT_EQ(s.out_width, 32);
    EXPECT_TRUE(s.channels_last);
    EXPECT_TRUE(s.resizes());
}

TEST(MakeTransformSpec, RejectsWhatCannotWork) {
    sp::DatasetConfig cfg;
    cfg.name = "cifar10";
    const sp::DatasetFacts facts = sp::dataset_facts("cifar10");
    const sp::ImageSet shape = shape_of(3, 32, 32);
    // 3-channel data cannot feed a 1-channel model.
    EXPECT_THROW(sp::make_transform_spec(cfg, facts, shape, /*model_channels=*/1), sp::ConfigError);
    cfg.mean = {0.1, 0.2};
    EXPECT_THROW(sp::make_transform_spec(cfg, facts, shape, 3), sp::ConfigError);
    cfg.mean.clear();
    cfg.std = {0.0};
    EXPECT_THROW(ImageTransform(sp::make_transform_spec(cfg, facts, shape, 3)), sp::ConfigError);
    cfg.std.clear();
    cfg.resize = -1;
    EXPECT_THROW(sp::make_transform_spec(cfg, facts, shape, 3), sp::ConfigError);
    cfg.resize = 0;
    sp::ImageSet empty;
    EXPECT_THROW(sp::make_transform_spec(cfg, facts, empty, 3), sp::DataError);
}
