#pragma once
/// Decoded images in memory, as every loader returns them and every transform reads them.
///
///     sp::DataSplits d = sp::read_cifar10("data/cifar-10-batches-bin");
///     const std::uint8_t* first = d.train.image(0);   // C x H x W bytes, channel-planar
///
/// Pixels are uint8, N x C x H x W (each image's channels one after another, each channel
/// row-major): the layout of CIFAR-10's records and of a torch NCHW tensor. Labels are class
/// indices in [0, classes).

#include <cstdint>
#include <string>
#include <vector>

namespace sp {

/// One split of a dataset: `count` images of `channels` x `height` x `width` bytes, and labels.
struct ImageSet {
    std::int64_t count = 0;
    std::int64_t channels = 0;
    std::int64_t height = 0;
    std::int64_t width = 0;
    std::vector<std::uint8_t> pixels; ///< count * channels * height * width bytes
    std::vector<std::int64_t> labels; ///< count class indices

    /// Bytes per image: channels * height * width.
    std::int64_t image_bytes() const { return channels * height * width; }
    /// The first byte of image `i` (0 <= i < count).
    const std::uint8_t* image(std::int64_t i) const {
        return pixels.data() + static_cast<std::size_t>(i * image_bytes());
    }
    std::uint8_t* image(std::int64_t i) {
        return pixels.data() + static_cast<std::size_t>(i * image_bytes());
    }
};

/// A dataset: its training and evaluation splits, class names, and where it came from.
struct DataSplits {
    std::string name; ///< a dataset.name value: "cifar10", ...
    ImageSet train;
    ImageSet eval;                        ///< the test split (Tiny ImageNet: the val split)
    std::vector<std::string> class_names; ///< index -> name ("airplane", or a wnid "n01443537")
    std::string source;                   ///< directory or cache file it was read from
    std::string checksum;                 ///< SHA-256 hex of the source files; "" if not computed
    /// SHA-256 hex of the cache file's bytes when the data was read from a cache (load_dataset);
    /// "" when decoded from the source.
    std::string cache_sha256;
    /// What the source files were checked against (verify.hpp): a published archive checksum
    /// (recorded by sp_prepare), a SHA256SUMS manifest, or "" when nothing was checked.
    std::string verification;
};

} // namespace sp
