// data/batches: seeded, resumable batches whose values depend only on (seed, epoch, index), never
// on thread count, batch size or how far a run got before it was resumed.
#include "sp/data/batches.hpp"
#include "sp/util/error.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <vector>

using sp::Batch;
using sp::BatchLoader;
using sp::LoaderMode;
using sp::LoaderOptions;
using sp::TransformSpec;

namespace {

// n random c x h x w images (bytes from a fixed SplitMixRng stream), label = index mod 10.
sp::ImageSet random_images(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
    sp::ImageSet s;
    s.count = n;
    s.channels = c;
    s.height = h;
    s.width = w;
    s.pixels.resize(static_cast<std::size_t>(n * c * h * w));
    sp::SplitMixRng rng(/*seed=*/2024);
    for (auto& p : s.pixels) p = static_cast<std::uint8_t>(rng.next() >> 56U);
    for (std::int64_t i = 0; i < n; ++i) s.labels.push_back(i % 10);
    return s;
}

TransformSpec augmenting_spec(const sp::ImageSet& images, std::int64_t out_channels = 1) {
    sp::DatasetConfig cfg;
    cfg.name = "synthetic";
    cfg.augment = true;
    cfg.crop_padding = 2;
    cfg.hflip = true;
    cfg.mean = {0.4};
    cfg.std = {0.3};
    return sp::make_transform_spec(cfg, sp::dataset_facts("synthetic"), images, out_channels);
}

std::vector<std::int64_t> iota(std::int64_t n, std::int64_t from = 0) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), from);
    return v;
}

LoaderOptions options(std::int64_t batch_size, std::uint64_t seed, int threads = 1) {
    LoaderOptions o;
    o.batch_size = batch_size;
    o.seed = seed;
    o.threads = threads;
    return o;
}

std::vector<Batch> epoch(BatchLoader& loader, std::int64_t e) {
    loader.start_epoch(e);
    std::vector<Batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
}

// Bit-exact equality of values, shapes and dtypes (torch::equal also compares across strides).
void expect_same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
        EXPECT_EQ(a[k].indices, b[k].indices) << "batch " << k;
        EXPECT_TRUE(torch::equal(a[k].images, b[k].images)) << "batch " << k;
        EXPECT_TRUE(torch::equal(a[k].labels, b[k].labels)) << "batch " << k;
    }
}

// Dataset index -> its transformed image, over a whole epoch.
std::map<std::int64_t, torch::Tensor> by_index(const std::vector<Batch>& batches) {
    std::map<std::int64_t, torch::Tensor> out;
    for (const Batch& b : batches) {
        for (std::size_t k = 0; k < b.indices.size(); ++k) {
            out[b.indices[k]] = b.images[static_cast<std::int64_t>(k)];
        }
    }
    return out;
}

class Batches : public ::testing::Test {
  protected:
    sp::ImageSet images_ = random_images(/*n=*/300, /*c=*/1, /*h=*/8, /*w=*/8);
    std::vector<std::int64_t> subset_ = iota(/*n=*/250, /*from=*/30);
};

} // namespace

// --- The work team: every member once per run, exceptions reach the caller ------------------

TEST(WorkTeam, RunsEveryMemberOnceAndRethrows) {
    for (int threads : {1, 2, 5}) {
        sp::WorkTeam team(threads);
        for (int round = 0; round < 50; ++round) {
            std::vector<int> calls(static_cast<std::size_t>(threads), 0);
            team.run([&](int member) { ++calls[static_cast<std::size_t>(member)]; });
            EXPECT_EQ(calls, std::vector<int>(static_cast<std::size_t>(threads), 1));
        }
        EXPECT_THROW(team.run([&](int member) {
            if (member == threads - 1) throw sp::DataError("member failed");
        }),
                     sp::DataError);
        int after = 0;
        std::mutex m;
        team.run([&](int) {
            const std::lock_guard<std::mutex> lock(m);
            ++after;
        });
        EXPECT_EQ(after, threads); // still usable after an exception
    }
}

// --- Same seed, same batches: across runs, thread counts and batch sizes ----------------------

TEST_F(Batches, SameSeedGivesBitIdenticalBatchesAcrossLoaders) {
    BatchLoader a(images_, subset_, augmenting_spec(images_), options(32, /*seed=*/7));
    BatchLoader b(images_, subset_, augmenting_spec(images_), options(32, /*seed=*/7));
    expect_same(epoch(a, 0), epoch(b, 0));
    expect_same(epoch(a, 3), epoch(b, 3));
}

TEST_F(Batches, ThreadCountDoesNotChangeAnyValue) {
    BatchLoader one(images_, subset_, augmenting_spec(images_), options(32, 7, /*threads=*/1));
    BatchLoader two(images_, subset_, augmenting_spec(images_), options(32, 7, /*threads=*/2));
    BatchLoader many(images_, subset_, augmenting_spec(images_), options(32, 7, /*threads=*/64));
    const auto reference = epoch(one, 1);
    expect_same(reference, epoch(two, 1));
    expect_same(reference, epoch(many, 1));
}

TEST_F(Batches, BatchSizeDoesNotChangeAnyImagesAugmentation) {
    BatchLoader small(images_, subset_, augmenting_spec(images_), options(32, 7));
    BatchLoader large(images_, subset_, augmenting_spec(images_), options(50, 7));
    const auto a = by_index(epoch(small, 2));
    const auto b = by_index(epoch(large, 2));
    ASSERT_EQ(a.size(), subset_.size());
    ASSERT_EQ(b.size(), subset_.size());
    for (const auto& [index, image] : a) EXPECT_TRUE(torch::equal(image, b.at(index))) << index;
    // The order is the epoch's order whatever the batch size.
    EXPECT_EQ(small.order(), large.order());
}

TEST_F(Batches, ImagesAreTheDocumentedPerSampleTransform) {
    const TransformSpec spec = augmenting_spec(images_);
    BatchLoader loader(images_, subset_, spec, options(40, /*seed=*/11));
    const sp::ImageTransform transform(spec);
    std::vector<float> expect(static_cast<std::size_t>(transform.output_floats()));
    std::vector<float> workspace;
    for (const Batch& b : epoch(loader, 4)) {
        for (std::size_t k = 0; k < b.indices.size(); ++k) {
            const std::int64_t i = b.indices[k];
            transform.apply(images_.image(i), sp::draw_augment(spec, sp::sample_seed(11, 4, i)),
                            expect.data(), workspace);
            const torch::Tensor got = b.images[static_cast<std::int64_t>(k)].contiguous();
            ASSERT_EQ(std::memcmp(got.data_ptr<float>(), expect.data(), expect.size() * 4), 0)
                << "index " << i;
            EXPECT_EQ(b.labels[static_cast<std::int64_t>(k)].item<std::int64_t>(), i % 10);
        }
    }
}

// --- Different seeds and epochs give different data ------------------------------------------

TEST_F(Batches, AnotherSeedGivesAnotherOrder) {
    BatchLoader a(images_, subset_, augmenting_spec(images_), options(32, 7));
    BatchLoader b(images_, subset_, augmenting_spec(images_), options(32, 8));
    EXPECT_NE(a.order(), b.order());
    EXPECT_TRUE(std::is_permutation(a.order().begin(), a.order().end(), subset_.begin()));
}

TEST_F(Batches, NextEpochHasAnotherOrderAndOtherAugmentations) {
    BatchLoader loader(images_, subset_, augmenting_spec(images_), options(32, 7));
    const auto e0 = epoch(loader, 0);
    const auto order0 = loader.order();
    const auto e1 = epoch(loader, 1);
    EXPECT_NE(order0, loader.order());
    const auto a = by_index(e0);
    const auto b = by_index(e1);
    int differ = 0;
    for (const auto& [index, image] : a) differ += torch::equal(image, b.at(index)) ? 0 : 1;
    // 25 crop positions x 2 flips: almost every image is augmented differently.
    EXPECT_GT(differ, 200);
}

// --- Evaluation: subset order, no augmentation -----------------------------------------------

TEST_F(Batches, EvalModeIsUnshuffledUnaugmentedAndTheSameEveryEpoch) {
    LoaderOptions o = options(64, 7);
    o.mode = LoaderMode::eval;
    BatchLoader loader(images_, subset_, augmenting_spec(images_), o);
    const auto e0 = epoch(loader, 0);
    EXPECT_EQ(loader.order(), subset_);
    expect_same(e0, epoch(loader, 5));
    // No augmentation: each image is just normalised.
    const auto& first = e0.front();
    EXPECT_EQ(first.indices.front(), 30);
    const torch::Tensor raw =
        torch::from_blob(images_.image(30), {1, 8, 8}, torch::kUInt8).to(torch::kFloat32);
    const torch::Tensor expect = (raw / 255.0F - 0.4F) / 0.3F;
    EXPECT_TRUE(torch::allclose(first.images[0], expect, /*rtol=*/0, /*atol=*/1e-6));
}

// --- Resume: starting at batch k equals skipping k batches -----------------------------------

TEST_F(Batches, StartingAtBatchKEqualsSkippingKBatches) {
    BatchLoader full(images_, subset_, augmenting_spec(images_), options(32, 7));
    const auto all = epoch(full, 2);
    ASSERT_EQ(all.size(), 8U); // ceil(250 / 32)
    for (std::int64_t k : {0, 1, 5, 7, 8}) {
        BatchLoader resumed(images_, subset_, augmenting_spec(images_), options(32, 7));
        resumed.start_epoch(2, k);
        EXPECT_EQ(resumed.position().epoch, 2);
        EXPECT_EQ(resumed.position().batch, k);
        std::vector<Batch> rest;
        while (auto b = resumed.next()) rest.push_back(std::move(*b));
        expect_same(rest, std::vector<Batch>(all.begin() + k, all.end()));
        if (!rest.empty()) {
            EXPECT_EQ(rest.front().number, k);
        }
        EXPECT_EQ(resumed.position().batch, 8);
    }
}

TEST_F(Batches, PositionAdvancesAndBatchIsRandomAccess) {
    BatchLoader loader(images_, subset_, augmenting_spec(images_), options(100, 7));
    loader.start_epoch(3);
    EXPECT_EQ(loader.position().batch, 0);
    const auto b0 = loader.next();
    ASSERT_TRUE(b0.has_value());
    EXPECT_EQ(b0->epoch, 3);
    EXPECT_EQ(loader.position().batch, 1);
    const Batch again = loader.batch(0);
    EXPECT_TRUE(torch::equal(again.images, b0->images));
    EXPECT_EQ(loader.position().batch, 1);
    EXPECT_THROW(loader.batch(3), sp::DataError);
    EXPECT_THROW(loader.start_epoch(3, 4), sp::DataError);
    EXPECT_THROW(loader.start_epoch(-1), sp::DataError);
}

// --- Memory reuse: only when nobody can see it ------------------------------------------------

TEST_F(Batches, ReleasedBatchMemoryIsReusedAndHeldOrViewedMemoryNever) {
    BatchLoader loader(images_, subset_, augmenting_spec(images_), options(32, 7));
    loader.start_epoch(0);
    std::optional<Batch> b = loader.next();
    const void* first = b->images.data_ptr();
    b.reset();
    b = loader.next(); // batch 0 was released: its memory is reused
    EXPECT_EQ(b->images.data_ptr(), first);

    const torch::Tensor view = b->images[3]; // a view still references the storage
    const torch::Tensor saved = view.clone();
    b.reset();
    b = loader.next();
    EXPECT_NE(b->images.data_ptr(), first);
    EXPECT_TRUE(torch::equal(view, saved));

    const Batch held = *loader.next(); // a held batch is never overwritten either
    const torch::Tensor held_copy = held.images.clone();
    b = loader.next();
    EXPECT_NE(b->images.data_ptr(), held.images.data_ptr());
    EXPECT_TRUE(torch::equal(held.images, held_copy));
}

TEST_F(Batches, RecycledBatchesHaveTheSameValuesAsFreshOnes) {
    BatchLoader collecting(images_, subset_, augmenting_spec(images_), options(32, 7));
    const auto reference = epoch(collecting, 1);
    BatchLoader streaming(images_, subset_, augmenting_spec(images_), options(32, 7));
    streaming.start_epoch(1);
    std::size_t k = 0;
    while (auto b = streaming.next()) {
        ASSERT_LT(k, reference.size());
        EXPECT_TRUE(torch::equal(b->images, reference[k].images)) << k;
        ++k;
    }
    EXPECT_EQ(k, reference.size());
}

// --- Shapes: last batch, drop_last, channels, memory format ----------------------------------

TEST_F(Batches, LastBatchIsSmallerUnlessDropped) {
    BatchLoader keep(images_, subset_, augmenting_spec(images_), options(100, 7));
    const auto kept = epoch(keep, 0);
    ASSERT_EQ(kept.size(), 3U);
    EXPECT_EQ(kept.back().images.sizes(), (std::vector<std::int64_t>{50, 1, 8, 8}));
    EXPECT_EQ(kept.back().labels.sizes(), (std::vector<std::int64_t>{50}));
    EXPECT_EQ(kept.back().labels.scalar_type(), torch::kInt64);
    EXPECT_EQ(kept.back().images.scalar_type(), torch::kFloat32);

    LoaderOptions o = options(100, 7);
    o.drop_last = true;
    BatchLoader drop(images_, subset_, augmenting_spec(images_), o);
    EXPECT_EQ(drop.batches_per_epoch(), 2);
    const auto dropped = epoch(drop, 0);
    ASSERT_EQ(dropped.size(), 2U);
    expect_same(dropped, std::vector<Batch>(kept.begin(), kept.begin() + 2));
}

TEST_F(Batches, ChannelsLastHasTheSameValuesWithNhwcStrides) {
    const sp::ImageSet rgb = random_images(/*n=*/40, /*c=*/3, /*h=*/6, /*w=*/5);
    TransformSpec spec = augmenting_spec(rgb, /*out_channels=*/3);
    BatchLoader planar(rgb, iota(40), spec, options(16, 9, /*threads=*/2));
    spec.channels_last = true;
    BatchLoader last(rgb, iota(40), spec, options(16, 9, /*threads=*/2));
    const auto a = epoch(planar, 0);
    const auto b = epoch(last, 0);
    expect_same(a, b);
    const torch::Tensor& t = b.front().images;
    EXPECT_EQ(t.sizes(), (std::vector<std::int64_t>{16, 3, 6, 5}));
    EXPECT_EQ(t.strides(), (std::vector<std::int64_t>{3 * 6 * 5, 1, 5 * 3, 3}));
    EXPECT_TRUE(t.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(a.front().images.is_contiguous());
}

TEST_F(Batches, OneChannelDataReplicatesToThreeIdenticalChannels) {
    BatchLoader loader(images_, subset_, augmenting_spec(images_, /*out_channels=*/3),
                       options(64, 7, /*threads=*/2));
    BatchLoader single(images_, subset_, augmenting_spec(images_), options(64, 7));
    const Batch b = *loader.next();
    const Batch s = *single.next();
    EXPECT_EQ(b.images.size(1), 3);
    for (std::int64_t c = 0; c < 3; ++c) {
        EXPECT_TRUE(torch::equal(b.images.select(1, c), s.images.select(1, 0))) << c;
    }
}

TEST_F(Batches, ResizedBatchesAreThreadIndependentToo) {
    sp::DatasetConfig cfg;
    cfg.name = "synthetic";
    cfg.augment = true;
    cfg.resize = 19;
    const TransformSpec spec =
        sp::make_transform_spec(cfg, sp::dataset_facts("synthetic"), images_, 3);
    BatchLoader one(images_, subset_, spec, options(48, 5, /*threads=*/1));
    BatchLoader two(images_, subset_, spec, options(48, 5, /*threads=*/2));
    const auto a = epoch(one, 0);
    expect_same(a, epoch(two, 0));
    EXPECT_EQ(a.front().images.sizes(), (std::vector<std::int64_t>{48, 3, 19, 19}));
}

// --- Bad input -------------------------------------------------------------------------------

TEST_F(Batches, RejectsBadIndicesSizesAndShapes) {
    const TransformSpec spec = augmenting_spec(images_);
    EXPECT_THROW(BatchLoader(images_, {0, 300}, spec, options(8, 1)), sp::DataError);
    EXPECT_THROW(BatchLoader(images_, {-1}, spec, options(8, 1)), sp::DataError);
    EXPECT_THROW(BatchLoader(images_, subset_, spec, options(0, 1)), sp::ConfigError);
    EXPECT_THROW(BatchLoader(images_, subset_, spec, options(8, 1, /*threads=*/0)),
                 sp::ConfigError);
    const sp::ImageSet other = random_images(10, 1, 9, 9);
    EXPECT_THROW(BatchLoader(other, iota(10), spec, options(8, 1)), sp::ConfigError);
    sp::ImageSet broken = images_;
    broken.labels.pop_back();
    EXPECT_THROW(BatchLoader(broken, subset_, spec, options(8, 1)), sp::DataError);
}

TEST_F(Batches, EmptySubsetHasNoBatches) {
    BatchLoader loader(images_, {}, augmenting_spec(images_), options(8, 1));
    EXPECT_EQ(loader.batches_per_epoch(), 0);
    EXPECT_FALSE(loader.next().has_value());
}
