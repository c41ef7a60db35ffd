// data/transforms against torchvision: for crop offsets and flips passed explicitly (sp's and
// torch's generators differ), torchvision.transforms.functional pad/crop/hflip/to_tensor/normalize
// and torch.nn.functional.interpolate(bilinear, align_corners=False) must give sp's floats:
// within 1e-6 without a resize, 1e-5 with one.
#include "sp/data/transforms.hpp"

#include "support/oracle.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using sp::AugmentDraw;
using sp::TransformSpec;
using sp::test::python;
using sp::test::TempDir;

namespace {

bool have_torchvision() { return sp::test::python_has("torch, torchvision, numpy, PIL"); }

struct Case {
    std::string name;
    TransformSpec spec;
    AugmentDraw draw;
    std::vector<std::uint8_t> image;
};

TransformSpec make_spec(std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t oc,
                        std::int64_t oh, std::int64_t ow, std::int64_t padding,
                        std::vector<float> mean, std::vector<float> sd) {
    TransformSpec s;
    s.in_channels = c;
    s.in_height = h;
    s.in_width = w;
    s.out_channels = oc;
    s.out_height = oh;
    s.out_width = ow;
    s.mean = std::move(mean);
    s.std = std::move(sd);
    s.augment = padding > 0;
    s.crop_padding = padding;
    s.hflip = padding > 0;
    return s;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
    std::vector<std::uint8_t> v(n);
    sp::SplitMixRng rng(seed);
    for (auto& b : v) b = static_cast<std::uint8_t>(rng.next() >> 56U);
    // Both extremes, so the table ends are exercised.
    v[0] = 0;
    v[n - 1] = 255;
    return v;
}

std::vector<Case> cases() {
    std::vector<Case> out;
    const std::vector<float> fm_mean = {0.2860F};
    const std::vector<float> fm_std = {0.3530F};
    const std::vector<float> c10_mean = {0.4914F, 0.4822F, 0.4465F};
    const std::vector<float> c10_std = {0.2023F, 0.1994F, 0.2010F};
    std::uint64_t seed = 1;
    auto add = [&](const std::string& name, const TransformSpec& s, AugmentDraw d) {
        out.push_back(
            {name, s, d,
             random_bytes(static_cast<std::size_t>(s.in_channels * s.in_height * s.in_width),
                          seed++)});
    };
    // Fashion-MNIST-like: 28 x 28, padding 4, the corners, the centre and a few inside.
    const TransformSpec fm = make_spec(1, 28, 28, 1, 28, 28, /*padding=*/4, fm_mean, fm_std);
    add("fm_corner_tl", fm, {0, 0, false});
    add("fm_corner_br_flip", fm, {8, 8, true});
    add("fm_centre", fm, {4, 4, false});
    add("fm_centre_flip", fm, {4, 4, true});
    add("fm_mixed", fm, {1, 7, true});
    add("fm_mixed2", fm, {6, 2, false});
    // CIFAR-10-like: three channels, non-square, per-channel statistics.
    const TransformSpec c10 = make_spec(3, 32, 30, 3, 32, 30, /*padding=*/4, c10_mean, c10_std);
    add("c10_flip", c10, {3, 5, true});
    add("c10_corner", c10, {8, 0, false});
    // Replication of one channel to three, with per-model-channel statistics.
    add("replicate", make_spec(1, 28, 28, 3, 28, 28, 4, c10_mean, c10_std), {2, 6, true});
    // Resizes: up (CIFAR to 224 is the paper's Tiny ImageNet case, 64 -> 224), down, odd ratios.
    add("up_64_224", make_spec(3, 64, 64, 3, 224, 224, 0, c10_mean, c10_std), {0, 0, false});
    add("up_crop_28_40", make_spec(1, 28, 28, 3, 40, 40, 4, c10_mean, c10_std), {7, 1, true});
    add("down_32_13", make_spec(3, 32, 32, 3, 13, 13, 2, c10_mean, c10_std), {1, 4, true});
    add("nonsquare", make_spec(1, 9, 17, 1, 31, 5, 0, fm_mean, fm_std), {0, 0, false});
    return out;
}

std::vector<float> read_floats(const std::string& path) {
    const std::string bytes = sp::test::read_file(path);
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
}

} // namespace

TEST(TransformsOracle, MatchesTorchvisionAndInterpolate) {
    if (!have_torchvision()) GTEST_SKIP() << python() << " lacks torch/torchvision/numpy/PIL";
    TempDir dir("transforms");
    const std::vector<Case> all = cases();
    std::ostringstream list;
    list << std::setprecision(9);
    for (const Case& c : all) {
        const TransformSpec& s = c.spec;
        dir.write(c.name + ".in.bin", std::string(c.image.begin(), c.image.end()));
        list << c.name << ' ' << s.in_channels << ' ' << s.in_height << ' ' << s.in_width << ' '
             << s.out_channels << ' ' << s.out_height << ' ' << s.out_width << ' ' << s.crop_padding
             << ' ' << c.draw.top << ' ' << c.draw.left << ' ' << (c.draw.flip ? 1 : 0);
        for (const float m : s.mean) list << ' ' << m;
        for (const float d : s.std) list << ' ' << d;
        list << '\n';
    }
    dir.write("cases.txt", list.str());
    const auto r = sp::test::run(
        {python(), sp::test::source_path("tests/oracle/transforms_oracle.py"), dir.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;

    for (const Case& c : all) {
        const sp::ImageTransform t(c.spec);
        std::vector<float> ours(static_cast<std::size_t>(t.output_floats()));
        std::vector<float> workspace;
        t.apply(c.image.data(), c.draw, ours.data(), workspace);
        const double tolerance = c.spec.resizes() ? 1e-5 : 1e-6;
        for (const std::string& path : {std::string("tensor"), std::string("pil")}) {
            if (path == "pil" && c.spec.resizes()) continue;
            const std::string file = dir.file(c.name + "." + path + ".bin");
            const std::vector<float> theirs = read_floats(file);
            ASSERT_EQ(theirs.size(), ours.size()) << c.name << " " << path;
            double worst = 0;
            for (std::size_t i = 0; i < ours.size(); ++i) {
                worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - theirs[i]));
            }
            EXPECT_LE(worst, tolerance) << c.name << " (" << path << " path)";
            std::cout << c.name << " (" << path << "): max |sp - torch| = " << worst << '\n';
        }
    }
}
