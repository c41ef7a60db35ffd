// libFuzzer target for the dataset readers: every input goes through the CIFAR-10 batch parser,
// the IDX image and label parsers (plain and through the gzip layer) and the JPEG decoder. Bad
// input must end in sp::DataError; anything else (a crash, a sanitizer report, another exception,
// a result that breaks ImageSet's invariants) is a finding. Built by tests/fault/fuzz.sh.
#include "sp/data/jpeg.hpp"
#include "sp/data/readers.hpp"
#include "sp/util/error.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz_readers: invariant broken: %s\n", what);
        std::abort();
    }
}

void check(const sp::ImageSet& s, std::int64_t classes) {
    require(s.count >= 0, "count >= 0");
    require(s.pixels.size() == static_cast<std::size_t>(s.count * s.image_bytes()),
            "pixels.size() == count * image_bytes()");
    require(s.labels.size() == static_cast<std::size_t>(s.count), "labels.size() == count");
    for (std::int64_t l : s.labels) require(l >= 0 && l < classes, "0 <= label < classes");
}

template <typename F> void expect_data_error_or_success(F f) {
    try {
        f();
    } catch (const sp::DataError&) {
    }
}

void parse_idx(std::string_view bytes) {
    expect_data_error_or_success([&] {
        sp::ImageSet s;
        sp::parse_idx_images(bytes, "fuzz-images", s);
        require(s.channels == 1, "IDX images have one channel");
        require(s.pixels.size() == static_cast<std::size_t>(s.count * s.image_bytes()),
                "IDX pixels.size() == count * image_bytes()");
    });
    expect_data_error_or_success([&] {
        sp::ImageSet s;
        sp::parse_idx_labels(bytes, "fuzz-labels", 10, s);
        for (std::int64_t l : s.labels) require(l >= 0 && l < 10, "IDX 0 <= label < 10");
    });
    // Images then labels into one set, the count check between them: the first two bytes say
    // where the images end.
    if (bytes.size() < 2) return;
    const std::size_t split = (std::size_t{static_cast<std::uint8_t>(bytes[0])} << 8U |
                               static_cast<std::uint8_t>(bytes[1])) %
                              (bytes.size() - 1);
    expect_data_error_or_success([&] {
        sp::ImageSet s;
        sp::parse_idx_images(bytes.substr(2, split), "fuzz-images", s);
        sp::parse_idx_labels(bytes.substr(2 + split), "fuzz-labels", 10, s);
        check(s, 10);
    });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    expect_data_error_or_success([&] {
        sp::ImageSet s;
        sp::parse_cifar10_batch(bytes, "fuzz.bin", s);
        check(s, 10);
        require(s.channels == 3 && s.height == 32 && s.width == 32, "CIFAR is 3 x 32 x 32");
    });
    parse_idx(bytes);
    expect_data_error_or_success([&] {
        const std::string plain = sp::gunzip_if_gzip(bytes, "fuzz.gz");
        if (plain.size() != bytes.size() || plain != bytes) parse_idx(plain);
    });
    expect_data_error_or_success([&] {
        static sp::JpegDecoder decoder;
        static std::uint8_t planar[3 * 64 * 64];
        const sp::JpegDecoder::Size s = decoder.size(bytes, "fuzz.JPEG");
        require(s.width > 0 && s.height > 0, "a JPEG header gives a positive size");
        decoder.decode_planar_rgb(bytes, "fuzz.JPEG", 64, 64, planar);
    });
    return 0;
}
