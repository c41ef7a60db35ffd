// data/: inputs the fuzzer (tests/fault/fuzz.sh) found to break a reader, kept as regression
// cases: each goes through every parser, as in fuzz_readers.cpp, and must end in success or a
// DataError. Add a crash input to tests/fault/regressions/ and it is picked up here.
#include "sp/data/jpeg.hpp"
#include "sp/data/readers.hpp"
#include "sp/util/error.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

namespace {

// Fails the test on anything but success or a DataError.
void expect_clean(const std::function<void()>& f, const std::string& what) {
    try {
        f();
    } catch (const sp::DataError&) {
    } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": not a DataError: " << e.what();
    }
}

std::string read_regression(const std::string& name) {
    return sp::test::read_file(sp::test::source_path("tests/fault/regressions/" + name));
}

// Rule: every saved crash input is now success or a DataError in every parser, decoded in
// sequence with one JPEG decoder as the fuzzer does.
TEST(FuzzRegressions, EverySavedInputIsHandled) {
    sp::JpegDecoder decoder;
    std::vector<std::uint8_t> planar(3 * 64 * 64);
    int inputs = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(sp::test::source_path("tests/fault/regressions"))) {
        const std::string name = entry.path().filename().string();
        const std::string bytes = sp::test::read_file(entry.path().string());
        ++inputs;
        expect_clean(
            [&] {
                sp::ImageSet s;
                sp::parse_cifar10_batch(bytes, name, s);
            },
            name);
        expect_clean(
            [&] {
                sp::ImageSet s;
                sp::parse_idx_images(bytes, name, s);
            },
            name);
        expect_clean(
            [&] {
                sp::ImageSet s;
                sp::parse_idx_labels(bytes, name, 10, s);
            },
            name);
        expect_clean([&] { sp::gunzip_if_gzip(bytes, name); }, name);
        expect_clean([&] { decoder.decode_planar_rgb(bytes, name, 64, 64, planar.data()); }, name);
        expect_clean([&] { decoder.size(bytes, name); }, name);
    }
    EXPECT_GT(inputs, 0);
}

// Rule (fuzzer, crash-207f78bd...): a decoder that failed on one file reports the next file's
// own header, not one continued from the failed file's parser state. TurboJPEG 2.1 leaves the
// handle mid-header after an error; 24 bytes of non-JPEG then "succeeded" as a 0 x 0 image.
TEST(FuzzRegressions, JpegDecoderIsNotPoisonedByAnEarlierError) {
    std::vector<std::uint8_t> gray(64 * 64, 128);
    const std::string good = sp::encode_jpeg(gray.data(), 64, 64, 1, 90);
    const std::string not_jpeg = read_regression("crash-207f78bdfebc2f953b48c00bbe1ce094cd96f3b2");
    std::vector<std::uint8_t> planar(3 * 64 * 64);
    sp::JpegDecoder decoder;
    for (std::size_t cut = 2; cut < good.size(); cut += 7) {
        // Cut inside the header: a DataError; cut after it: the header alone reads fine.
        try {
            EXPECT_EQ(decoder.size(good.substr(0, cut), "truncated.JPEG").width, 64);
        } catch (const sp::DataError&) {
        }
        std::string message;
        try {
            decoder.size(not_jpeg, "next.JPEG");
        } catch (const sp::DataError& e) {
            message = e.what();
        }
        EXPECT_NE(message.find("next.JPEG: corrupt JPEG: "), std::string::npos)
            << "after a file cut at " << cut << " bytes: " << message;
        // And a good file still decodes after a failure.
        EXPECT_THROW(
            decoder.decode_planar_rgb(good.substr(0, cut), "t.JPEG", 64, 64, planar.data()),
            sp::DataError);
        decoder.decode_planar_rgb(good, "good.JPEG", 64, 64, planar.data());
        EXPECT_EQ(planar[0], planar[2 * 64 * 64]);
    }
}

} // namespace
