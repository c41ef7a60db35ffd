// data/: the Tiny ImageNet reader against PIL. tests/data-generators/tiny_imagenet.py writes a
// tree of 4:2:0 JPEGs (like the real files, some grayscale) and PIL's own decode of each; sp's
// pixels must agree within JPEG decoders' tolerance (max abs diff <= 2), in the same order.
#include "sp/data/readers.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace {

TEST(TinyImageNetOracle, PixelsAgreeWithPil) {
    sp::test::TempDir dir("tiny-oracle");
    const sp::test::RunResult r = sp::test::run(
        {"/usr/bin/python3", sp::test::source_path("tests/data-generators/tiny_imagenet.py"),
         dir.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string pil = sp::test::read_file(dir.file("pil_decoded.bin"));
    for (int threads : {1, 3}) {
        const sp::DataSplits d = sp::read_tiny_imagenet(dir.path(), threads);
        ASSERT_EQ(d.train.count, 15);
        ASSERT_EQ(d.eval.count, 9);
        ASSERT_EQ(pil.size(), d.train.pixels.size() + d.eval.pixels.size());
        int worst = 0;
        std::size_t differing = 0;
        std::size_t at = 0;
        for (const sp::ImageSet* s : {&d.train, &d.eval}) {
            for (std::uint8_t v : s->pixels) {
                const int diff = std::abs(int{v} - int{static_cast<std::uint8_t>(pil[at++])});
                worst = std::max(worst, diff);
                differing += diff != 0;
            }
        }
        EXPECT_LE(worst, 2) << threads << " threads";
        std::cout << "vs PIL: max abs diff " << worst << ", " << differing << " of " << pil.size()
                  << " bytes differ\n";
        EXPECT_EQ(d.class_names, (std::vector<std::string>{"n04000004", "n01000001", "n03000003"}));
        EXPECT_EQ(d.train.labels[0], 0);
        EXPECT_EQ(d.train.labels[14], 2);
        EXPECT_EQ(d.eval.labels, (std::vector<std::int64_t>{0, 1, 2, 0, 1, 2, 0, 1, 2}));
    }
}

} // namespace
