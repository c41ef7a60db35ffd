// data/synthetic: the same images on every call, balanced labels, shapes and names from the
// configuration, a checksum of the settings, and classes a simple classifier can tell apart.
#include "sp/data/load.hpp"
#include "sp/data/readers.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

sp::SyntheticConfig small() {
    return {/*classes=*/4, /*train_size=*/41, /*eval_size=*/9, /*image_size=*/8, /*channels=*/3};
}

std::string pixel_hash(const sp::ImageSet& s) {
    return sp::sha256_hex(
        std::string_view(reinterpret_cast<const char*>(s.pixels.data()), s.pixels.size()));
}

// ---- determinism ----------------------------------------------------------------------------

TEST(Synthetic, IdenticalOnEveryCall) {
    const sp::DataSplits a = sp::make_synthetic(small());
    const sp::DataSplits b = sp::make_synthetic(small());
    EXPECT_EQ(a.train.pixels, b.train.pixels);
    EXPECT_EQ(a.eval.pixels, b.eval.pixels);
    EXPECT_EQ(a.train.labels, b.train.labels);
    EXPECT_EQ(a.checksum, b.checksum);
    EXPECT_NE(a.train.pixels, std::vector<std::uint8_t>(a.train.pixels.size(), a.train.pixels[0]));
}

TEST(Synthetic, PinnedPixels) {
    // The generator uses integer arithmetic only, so these digests hold on every platform.
    // A deliberate change of the images bumps kGeneratorVersion (synthetic.cpp) and these.
    const sp::DataSplits d = sp::make_synthetic(small());
    EXPECT_EQ(pixel_hash(d.train),
              "7c0c55d27cceecb7e40e38cd4d584e2b978d7893503b0525f6bd777ab8706f88");
    EXPECT_EQ(pixel_hash(d.eval),
              "a761949db4510f465db15bd4f6612be6c46cff5aa2fdbb8169c23e678acf68d9");
    // sha256sum of the documented text, computed outside sp.
    EXPECT_EQ(d.checksum, "2ac18d13ad8997ce0a8822798bfcc19bd8d91df97967d1d3223a8ec0e798395b");
}

TEST(Synthetic, TrainingImagesDoNotDependOnTheEvaluationSize) {
    sp::SyntheticConfig more = small();
    more.eval_size = 30;
    EXPECT_EQ(sp::make_synthetic(small()).train.pixels, sp::make_synthetic(more).train.pixels);
}

// ---- shapes, labels, names, checksum --------------------------------------------------------

TEST(Synthetic, ShapesNamesAndRoundRobinLabels) {
    const sp::DataSplits d = sp::make_synthetic(small());
    EXPECT_EQ(d.name, "synthetic");
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"class0", "class1", "class2", "class3"}));
    for (const sp::ImageSet* s : {&d.train, &d.eval}) {
        EXPECT_EQ(s->channels, 3);
        EXPECT_EQ(s->height, 8);
        EXPECT_EQ(s->width, 8);
        EXPECT_EQ(s->pixels.size(), static_cast<std::size_t>(s->count * 3 * 8 * 8));
        ASSERT_EQ(s->labels.size(), static_cast<std::size_t>(s->count));
        for (std::int64_t i = 0; i < s->count; ++i) EXPECT_EQ(s->labels[i], i % 4);
    }
    EXPECT_EQ(d.train.count, 41);
    EXPECT_EQ(d.eval.count, 9);
    std::vector<int> counts(4, 0);
    for (const std::int64_t y : d.train.labels) ++counts[static_cast<std::size_t>(y)];
    EXPECT_EQ(counts, (std::vector<int>{11, 10, 10, 10}));
}

TEST(Synthetic, ChecksumIsOfTheSettings) {
    const sp::SyntheticConfig base = small();
    const std::string sum = sp::make_synthetic(base).checksum;
    EXPECT_EQ(sum, sp::synthetic_checksum(base));
    EXPECT_EQ(sum.size(), 64U);
    std::vector<sp::SyntheticConfig> others(5, base);
    others[0].classes = 5;
    others[1].train_size = 42;
    others[2].eval_size = 10;
    others[3].image_size = 9;
    others[4].channels = 1;
    for (const sp::SyntheticConfig& o : others) EXPECT_NE(sp::synthetic_checksum(o), sum);
}

TEST(Synthetic, BadSettingsAreConfigErrorsNamingTheKey) {
    struct Case {
        void (*mutate)(sp::SyntheticConfig&);
        const char* key;
    };
    const std::vector<Case> cases = {
        {[](sp::SyntheticConfig& c) { c.classes = 1; }, "dataset.synthetic.classes"},
        {[](sp::SyntheticConfig& c) { c.train_size = 0; }, "dataset.synthetic.train_size"},
        {[](sp::SyntheticConfig& c) { c.eval_size = -1; }, "dataset.synthetic.eval_size"},
        {[](sp::SyntheticConfig& c) { c.image_size = 0; }, "dataset.synthetic.image_size"},
        {[](sp::SyntheticConfig& c) { c.channels = 4; }, "dataset.synthetic.channels"},
        {[](sp::SyntheticConfig& c) { c.train_size = std::numeric_limits<std::int64_t>::max(); },
         "dataset.synthetic.train_size"},
    };
    for (const Case& c : cases) {
        sp::SyntheticConfig cfg = small();
        c.mutate(cfg);
        try {
            sp::make_synthetic(cfg);
            ADD_FAILURE() << c.key << ": expected ConfigError";
        } catch (const sp::ConfigError& e) {
            EXPECT_EQ(std::string(e.what()).rfind(c.key, 0), 0U) << e.what();
        }
    }
}

// ---- learnable ------------------------------------------------------------------------------

// Phase-invariant features: per channel, the mean and the DFT magnitude at the low spatial
// frequencies (|kx|, ky <= 3). A class's pattern is a sinusoid at a random phase, so these
// separate the classes; a nearest-centroid classifier must then get most evaluation images right.
class Features {
  public:
    explicit Features(std::int64_t n) : n_(n) {
        const double two_pi = 6.283185307179586;
        for (int ky = 0; ky <= 3; ++ky) {
            for (int kx = -3; kx <= 3; ++kx) {
                if (ky == 0 && kx <= 0) continue;
                std::vector<double> c;
                std::vector<double> s;
                for (std::int64_t y = 0; y < n; ++y) {
                    for (std::int64_t x = 0; x < n; ++x) {
                        const double a =
                            two_pi * static_cast<double>(kx * x + ky * y) / static_cast<double>(n);
                        c.push_back(std::cos(a));
                        s.push_back(std::sin(a));
                    }
                }
                cos_.push_back(std::move(c));
                sin_.push_back(std::move(s));
            }
        }
    }

    std::vector<double> operator()(const sp::ImageSet& set, std::int64_t i) const {
        const auto pixels = static_cast<std::size_t>(n_ * n_);
        std::vector<double> f;
        for (std::int64_t c = 0; c < set.channels; ++c) {
            const std::uint8_t* p = set.image(i) + c * n_ * n_;
            double mean = 0;
            for (std::size_t k = 0; k < pixels; ++k) mean += p[k];
            f.push_back(mean / static_cast<double>(pixels));
            for (std::size_t w = 0; w < cos_.size(); ++w) {
                double re = 0;
                double im = 0;
                for (std::size_t k = 0; k < pixels; ++k) {
                    re += p[k] * cos_[w][k];
                    im += p[k] * sin_[w][k];
                }
                f.push_back(std::sqrt(re * re + im * im) / static_cast<double>(pixels));
            }
        }
        return f;
    }

  private:
    std::int64_t n_;
    std::vector<std::vector<double>> cos_;
    std::vector<std::vector<double>> sin_;
};

TEST(Synthetic, NearestCentroidSeparatesTheClasses) {
    sp::SyntheticConfig cfg; // the defaults: 10 classes, 1000 + 200 images of 3 x 32 x 32
    for (const std::int64_t channels : {3, 1}) {
        cfg.channels = channels;
        const sp::DataSplits d = sp::make_synthetic(cfg);
        const Features features(cfg.image_size);
        std::vector<std::vector<double>> centroid(10);
        std::vector<int> members(10, 0);
        for (std::int64_t i = 0; i < d.train.count; ++i) {
            const auto f = features(d.train, i);
            auto& c = centroid[static_cast<std::size_t>(d.train.labels[i])];
            if (c.empty()) c.assign(f.size(), 0.0);
            for (std::size_t j = 0; j < f.size(); ++j) c[j] += f[j];
            ++members[static_cast<std::size_t>(d.train.labels[i])];
        }
        for (std::size_t k = 0; k < 10; ++k) {
            for (double& v : centroid[k]) v /= members[k];
        }
        int correct = 0;
        for (std::int64_t i = 0; i < d.eval.count; ++i) {
            const auto f = features(d.eval, i);
            std::size_t best = 0;
            double best_d = std::numeric_limits<double>::infinity();
            for (std::size_t k = 0; k < 10; ++k) {
                double dist = 0;
                for (std::size_t j = 0; j < f.size(); ++j) {
                    dist += (f[j] - centroid[k][j]) * (f[j] - centroid[k][j]);
                }
                if (dist < best_d) {
                    best_d = dist;
                    best = k;
                }
            }
            correct += static_cast<std::int64_t>(best) == d.eval.labels[i] ? 1 : 0;
        }
        EXPECT_GE(correct, 180) << channels << " channels: " << correct << " of 200 correct";
    }
}

} // namespace
