// data/: the Tiny ImageNet reader on a small tree of JPEGs encoded here: order, labels, pixels
// against an independent libturbojpeg decode, thread-count independence, and bad trees.
#include "sp/data/jpeg.hpp"
#include "sp/data/readers.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"

#include "support/errors.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>

namespace {

using sp::test::data_error_of;
using sp::test::TempDir;
namespace fs = std::filesystem;

// Smooth colour gradients (JPEG keeps them within a few levels), different for every seed.
std::vector<std::uint8_t> gradient(int seed, int width = 64, int height = 64, int channels = 3) {
    std::vector<std::uint8_t> px;
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            for (int c = 0; c < channels; ++c) {
                const int v = c == 0   ? 3 * x + seed
                              : c == 1 ? 3 * y + 2 * seed
                                       : 2 * (x + y) + seed / 2;
                px.push_back(static_cast<std::uint8_t>(std::min(v, 255)));
            }
        }
    }
    return px;
}

std::string jpeg(int seed, int width = 64, int height = 64, int channels = 3) {
    return sp::encode_jpeg(gradient(seed, width, height, channels).data(), width, height, channels,
                           /*quality=*/95);
}

/// A small tree: three classes (wnids.txt deliberately not sorted), four training images each
/// whose names sort differently as text and as numbers, six val images of which val_2 is gray.
struct TinyTree {
    std::vector<std::string> wnids = {"n03000003", "n01000001", "n02000002"};
    std::vector<int> train_numbers = {0, 1, 2, 10};
    std::vector<std::pair<int, int>> val = {{0, 1}, {1, 0}, {2, 2}, {3, 1}, {10, 0}, {11, 2}};
    std::map<std::string, std::string> files; ///< relative path -> contents

    TinyTree() {
        std::string wnids_txt;
        for (const auto& w : wnids) wnids_txt += w + "\n";
        files["wnids.txt"] = wnids_txt;
        files["words.txt"] = "n01000001\tone\nn02000002\ttwo\nn03000003\tthree\n";
        int seed = 0;
        for (const auto& w : wnids) {
            files["train/" + w + "/" + w + "_boxes.txt"] = "ignored\n";
            for (int k : train_numbers)
                files["train/" + w + "/images/" + w + "_" + std::to_string(k) + ".JPEG"] =
                    jpeg(seed++);
        }
        std::string annotations;
        for (const auto& [k, label] : val) {
            const std::string name = "val_" + std::to_string(k) + ".JPEG";
            files["val/images/" + name] = k == 2 ? jpeg(seed++, 64, 64, 1) : jpeg(seed++);
            annotations +=
                name + "\t" + wnids[static_cast<std::size_t>(label)] + "\t0\t1\t62\t63\n";
        }
        files["val/val_annotations.txt"] = annotations;
    }

    void write(const TempDir& dir) const {
        for (const auto& [rel, bytes] : files) dir.write(rel, bytes);
    }
};

// libturbojpeg used directly, without sp's wrapper: interleaved RGB.
std::vector<std::uint8_t> independent_decode(const std::string& bytes) {
    tjhandle h = tjInitDecompress();
    std::vector<std::uint8_t> out(64 * 64 * 3);
    const int rc = tjDecompress2(h, reinterpret_cast<const unsigned char*>(bytes.data()),
                                 bytes.size(), out.data(), 64, 0, 64, TJPF_RGB, 0);
    tjDestroy(h);
    EXPECT_EQ(rc, 0);
    return out;
}

void expect_image(const sp::ImageSet& s, std::int64_t i, const std::string& jpeg_bytes,
                  const std::string& what) {
    const std::vector<std::uint8_t> rgb = independent_decode(jpeg_bytes);
    const std::uint8_t* planar = s.image(i);
    int mismatches = 0;
    for (std::size_t p = 0; p < 64 * 64; ++p) {
        for (std::size_t c = 0; c < 3; ++c) mismatches += planar[c * 4096 + p] != rgb[3 * p + c];
    }
    EXPECT_EQ(mismatches, 0) << what;
}

// Rule: images come in class order (wnids.txt), then file name; val by file name; every pixel is
// what libturbojpeg decodes from that file, channel-planar.
TEST(TinyImageNet, ReadsTreeInOrderMatchingAnIndependentDecode) {
    const TinyTree tree;
    TempDir dir("tiny");
    tree.write(dir);
    const sp::DataSplits d = sp::read_tiny_imagenet(dir.path(), 2);
    EXPECT_EQ(d.name, "tiny-imagenet");
    EXPECT_EQ(d.source, dir.path());
    EXPECT_EQ(d.class_names, tree.wnids);
    for (const sp::ImageSet* s : {&d.train, &d.eval}) {
        EXPECT_EQ(s->channels, 3);
        EXPECT_EQ(s->height, 64);
        EXPECT_EQ(s->width, 64);
        EXPECT_EQ(s->pixels.size(), static_cast<std::size_t>(s->count) * 3 * 64 * 64);
    }
    ASSERT_EQ(d.train.count, 12);
    const std::vector<std::string> by_name = {"_0", "_1", "_10", "_2"};
    std::int64_t i = 0;
    for (std::size_t c = 0; c < 3; ++c) {
        for (const std::string& suffix : by_name) {
            const std::string rel =
                "train/" + tree.wnids[c] + "/images/" + tree.wnids[c] + suffix + ".JPEG";
            EXPECT_EQ(d.train.labels[static_cast<std::size_t>(i)], static_cast<std::int64_t>(c))
                << rel;
            expect_image(d.train, i++, tree.files.at(rel), rel);
        }
    }
    ASSERT_EQ(d.eval.count, 6);
    const std::vector<std::pair<std::string, std::int64_t>> val = {
        {"val_0", 1}, {"val_1", 0}, {"val_10", 0}, {"val_11", 2}, {"val_2", 2}, {"val_3", 1}};
    for (std::size_t k = 0; k < val.size(); ++k) {
        EXPECT_EQ(d.eval.labels[k], val[k].second) << val[k].first;
        const std::string rel = "val/images/" + val[k].first + ".JPEG";
        expect_image(d.eval, static_cast<std::int64_t>(k), tree.files.at(rel), rel);
    }
    // And the pixels are the ones encoded, within JPEG's loss at quality 95.
    const std::vector<std::uint8_t> original = gradient(0);
    int worst = 0;
    for (std::size_t p = 0; p < 64 * 64; ++p) {
        for (std::size_t c = 0; c < 3; ++c)
            worst = std::max(
                worst, std::abs(int{d.train.image(0)[c * 4096 + p]} - int{original[3 * p + c]}));
    }
    EXPECT_LE(worst, 8);
}

// Rule: a grayscale JPEG becomes three identical channels equal to its gray decode.
TEST(TinyImageNet, GrayscaleJpegBecomesThreeIdenticalChannels) {
    const TinyTree tree;
    TempDir dir("tiny");
    tree.write(dir);
    const sp::DataSplits d = sp::read_tiny_imagenet(dir.path());
    const std::string& bytes = tree.files.at("val/images/val_2.JPEG");
    tjhandle h = tjInitDecompress();
    int w = 0, ht = 0, sub = 0, space = 0;
    ASSERT_EQ(tjDecompressHeader3(h, reinterpret_cast<const unsigned char*>(bytes.data()),
                                  bytes.size(), &w, &ht, &sub, &space),
              0);
    EXPECT_EQ(space, TJCS_GRAY);
    std::vector<std::uint8_t> gray(64 * 64);
    ASSERT_EQ(tjDecompress2(h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                            gray.data(), 64, 0, 64, TJPF_GRAY, 0),
              0);
    tjDestroy(h);
    const std::uint8_t* img = d.eval.image(4); // val_2 sorts after val_0, val_1, val_10, val_11
    int mismatches = 0;
    for (std::size_t p = 0; p < 64 * 64; ++p) {
        for (std::size_t c = 0; c < 3; ++c) mismatches += img[c * 4096 + p] != gray[p];
    }
    EXPECT_EQ(mismatches, 0);
}

// Rule: the checksum covers the files read, in sorted order of relative path (JPEGs, the
// annotations, wnids.txt; not words.txt or the box files, which are not read).
TEST(TinyImageNet, ChecksumFollowsTheRule) {
    TinyTree tree;
    TempDir dir("tiny");
    tree.write(dir);
    std::string all;
    for (const auto& [rel, bytes] : tree.files) { // std::map: sorted by path
        if (rel == "words.txt" || rel.find("_boxes") != std::string::npos) continue;
        all += rel + std::string(1, '\0') + std::to_string(bytes.size()) + std::string(1, '\0') +
               bytes;
    }
    EXPECT_EQ(sp::read_tiny_imagenet(dir.path()).checksum, sp::sha256_hex(all));
}

// Rule: pixels, labels and checksum do not depend on the number of decoding threads.
TEST(TinyImageNet, ResultIsTheSameForAnyThreadCount) {
    const TinyTree tree;
    TempDir dir("tiny");
    tree.write(dir);
    const sp::DataSplits one = sp::read_tiny_imagenet(dir.path(), 1);
    for (int threads : {0, 2, 3, 8, 64}) {
        const sp::DataSplits d = sp::read_tiny_imagenet(dir.path(), threads);
        EXPECT_EQ(d.train.pixels, one.train.pixels) << threads;
        EXPECT_EQ(d.train.labels, one.train.labels) << threads;
        EXPECT_EQ(d.eval.pixels, one.eval.pixels) << threads;
        EXPECT_EQ(d.eval.labels, one.eval.labels) << threads;
        EXPECT_EQ(d.checksum, one.checksum) << threads;
    }
}

struct BadTree {
    const char* rule;
    std::function<void(TinyTree&)> damage;     ///< edits the files before they are written
    std::function<void(const TempDir&)> after; ///< then edits the tree on disk (may be empty)
    std::string expected;                      ///< substring of the message, after "<root>/"
};

// Rule: each kind of bad tree is a DataError naming the file and the line or image.
TEST(TinyImageNet, BadTreesAreDataErrorsNamingFileAndLine) {
    const auto set = [](const std::string& rel, std::string bytes) {
        return [rel, bytes](TinyTree& t) { t.files[rel] = bytes; };
    };
    const auto remove = [](const std::string& rel) {
        return [rel](const TempDir& d) { fs::remove_all(d.file(rel)); };
    };
    const std::string val3 = "val/images/val_3.JPEG";
    const std::string good = jpeg(7);
    std::string garbled = good;
    for (std::size_t i = good.size() / 2; i < good.size() / 2 + 40; ++i)
        garbled[i] = static_cast<char>(i * 37);
    std::string eleven_lines;
    for (int k = 0; k < 11; ++k)
        eleven_lines += "val_" + std::to_string(k) + ".JPEG\tn01000001\t0\t0\t1\t1\n";
    const std::vector<BadTree> cases = {
        {"truncated JPEG",
         set(val3, good.substr(0, good.size() / 2)),
         {},
         val3 + ": corrupt JPEG: "},
        {"garbled JPEG", set(val3, garbled), {}, val3 + ": corrupt JPEG: "},
        {"not a JPEG", set(val3, "hello, world"), {}, val3 + ": corrupt JPEG: "},
        {"empty JPEG", set(val3, ""), {}, val3 + ": corrupt JPEG: empty file"},
        {"wrong size",
         set("train/n02000002/images/n02000002_1.JPEG", jpeg(1, 32, 64)),
         {},
         "train/n02000002/images/n02000002_1.JPEG: image is 32 x 64 pixels, expected 64 x 64"},
        {"unknown wnid",
         set("val/val_annotations.txt", eleven_lines + "val_11.JPEG\tn99999999\t0\t0\t1\t1\n"),
         {},
         "val/val_annotations.txt: line 12: wnid n99999999 is not in wnids.txt"},
        {"too few fields",
         set("val/val_annotations.txt",
             "val_0.JPEG\tn01000001\t0\t0\t1\t1\nval_1.JPEG n01000001\n"),
         {},
         "val/val_annotations.txt: line 2: expected 6 tab-separated fields"},
        {"bad box",
         set("val/val_annotations.txt", "\nval_0.JPEG\tn01000001\t0\tx\t1\t1\n"),
         {},
         "val/val_annotations.txt: line 2: field 4 'x' is not a box coordinate"},
        {"annotated twice",
         set("val/val_annotations.txt",
             "val_0.JPEG\tn01000001\t0\t0\t1\t1\nval_0.JPEG\tn01000001\t0\t0\t1\t1\n"),
         {},
         "val/val_annotations.txt: line 2: val_0.JPEG is annotated twice (first on line 1)"},
        {"annotation without image",
         {},
         remove("val/images/val_10.JPEG"),
         "val/val_annotations.txt: line 5: val_10.JPEG is not in val/images/"},
        {"image without annotation",
         set("val/images/val_99.JPEG", good),
         {},
         "val/images/val_99.JPEG: not in val/val_annotations.txt"},
        {"missing train folder",
         {},
         remove("train/n01000001"),
         "train/n01000001/: no such folder (wnids.txt lists n01000001)"},
        {"missing images folder",
         {},
         remove("train/n02000002/images"),
         "train/n02000002/images/: no such folder"},
        {"class without images",
         {},
         [](const TempDir& d) {
             for (const char* k : {"0", "1", "2", "10"})
                 fs::remove(d.file(std::string("train/n03000003/images/n03000003_") + k + ".JPEG"));
         },
         "train/n03000003/images/: no .JPEG files"},
        {"extra train folder",
         set("train/n09000009/images/n09000009_0.JPEG", good),
         {},
         "train/n09000009: not a wnid listed in wnids.txt"},
        {"missing wnids.txt", {}, remove("wnids.txt"), "wnids.txt: no such file"},
        {"repeated wnid",
         set("wnids.txt", "n03000003\nn01000001\nn02000002\nn01000001\n"),
         {},
         "wnids.txt: line 4: wnid n01000001 repeats line 2"},
        {"two wnids on a line",
         set("wnids.txt", "n03000003 n01000001\n"),
         {},
         "wnids.txt: line 1: 'n03000003 n01000001' is not a single wnid"},
        {"empty wnids.txt", set("wnids.txt", "\n\n"), {}, "wnids.txt: no wnids"},
        {"missing annotations",
         {},
         remove("val/val_annotations.txt"),
         "val/val_annotations.txt: no such file"},
        {"missing val images", {}, remove("val/images"), "val/images/: no such folder"},
        {"missing train", {}, remove("train"), "train/: no such folder"},
    };
    for (const BadTree& c : cases) {
        for (int threads : {1, 4}) {
            TinyTree tree;
            if (c.damage) c.damage(tree);
            TempDir dir("tiny");
            tree.write(dir);
            if (c.after) c.after(dir);
            const std::string message =
                data_error_of([&] { sp::read_tiny_imagenet(dir.path(), threads); });
            EXPECT_NE(message.find(dir.path() + "/" + c.expected), std::string::npos)
                << c.rule << " (" << threads << " threads): got: " << message;
        }
    }
    EXPECT_NE(data_error_of([] {
                  sp::read_tiny_imagenet("/no/such/tiny");
              }).find("/no/such/tiny/: no such directory"),
              std::string::npos);
}

// Rule: with several bad files, the one reported is the first in path order, for any thread count.
TEST(TinyImageNet, FirstBadFileInPathOrderIsReportedWhateverTheThreadCount) {
    TinyTree tree;
    for (const char* rel : {"val/images/val_11.JPEG", "train/n02000002/images/n02000002_2.JPEG",
                            "train/n03000003/images/n03000003_0.JPEG", "val/images/val_3.JPEG"}) {
        tree.files[rel] = "not a jpeg";
    }
    TempDir dir("tiny");
    tree.write(dir);
    for (int threads : {1, 2, 3, 5, 16}) {
        for (int repeat = 0; repeat < 3; ++repeat) {
            const std::string message =
                data_error_of([&] { sp::read_tiny_imagenet(dir.path(), threads); });
            EXPECT_NE(message.find("train/n02000002/images/n02000002_2.JPEG: corrupt JPEG"),
                      std::string::npos)
                << threads << " threads: " << message;
        }
    }
}

} // namespace
