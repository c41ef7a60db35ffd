#pragma once
/// Readers of the datasets' real on-disk formats. Each validates what it reads and throws
/// DataError naming the file and the record on anything wrong; none skips bad input silently.
///
///     sp::DataSplits c = sp::read_cifar10("data/cifar-10-batches-bin");
///     sp::DataSplits f = sp::read_idx_dataset("/usr/share/datasets/fashion-mnist",
///                                             "fashion-mnist");
///     sp::DataSplits t = sp::read_tiny_imagenet("data/tiny-imagenet-200", /*threads=*/8);
///
/// Messages name the file by its full path, then the record (0-based) or line (1-based). Each
/// reader sets DataSplits.checksum to the SHA-256 of the files it read (sp::SourceChecksum in
/// source_files.hpp: in sorted order of relative path, each file's path, size and bytes).

#include "sp/config/experiment.hpp"
#include "sp/data/image_set.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace sp {

/// CIFAR-10 binary version: data_batch_1.bin .. data_batch_5.bin (training, 50,000) and
/// test_batch.bin (10,000) in `dir`; records of 1 label byte then 3,072 pixel bytes (1,024 red,
/// 1,024 green, 1,024 blue, each 32 x 32 row-major). Class names from batches.meta.txt when
/// present, else CIFAR-10's published names.
DataSplits read_cifar10(const std::string& dir);

/// Parses one CIFAR-10 batch file already in memory (`name` is used in messages), appending its
/// records to `out` (which must be empty or 3 x 32 x 32).
void parse_cifar10_batch(std::string_view bytes, const std::string& name, ImageSet& out);

/// An IDX image file (magic 0x00000803, N x H x W uint8), gzip'd or plain, decoded into `out`
/// with channels = 1. Throws DataError on a wrong magic, dimension count or size.
void parse_idx_images(std::string_view bytes, const std::string& name, ImageSet& out);

/// An IDX label file (magic 0x00000801, N uint8) into `out.labels`; every label must be
/// < `classes`, and N must equal out.count when images were read first.
void parse_idx_labels(std::string_view bytes, const std::string& name, std::int64_t classes,
                      ImageSet& out);

/// The whole contents of a file, gunzipped if it starts with the gzip magic.
std::string read_maybe_gzip(const std::string& path);

/// `bytes` inflated if they start with the gzip magic (1f 8b; concatenated members are joined),
/// else `bytes` unchanged. A truncated or corrupt stream, or trailing bytes that are not another
/// member, is a DataError naming `name` and the compressed byte offset.
std::string gunzip_if_gzip(std::string_view bytes, const std::string& name);

/// MNIST-layout directory (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
/// t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]; the plain file when both exist);
/// `name` is "mnist" or "fashion-mnist" and picks the class names (ConfigError for another).
DataSplits read_idx_dataset(const std::string& dir, const std::string& name);

/// Tiny ImageNet: wnids.txt (200 wnids), train/<wnid>/images/*.JPEG (500 each),
/// val/images/*.JPEG with val/val_annotations.txt; 64 x 64 JPEGs decoded by libturbojpeg on
/// `threads` threads (grayscale ones become 3 identical channels); the result does not depend on
/// `threads`. Class order = wnids.txt order; class names are the wnids (words.txt, the human
/// names, is not read). Training images are ordered by class, then file name; val images by file
/// name. Every val image must be annotated and every annotation must name a val image; a
/// train/ folder that is not a listed wnid is an error; other files (*_boxes.txt) are ignored.
DataSplits read_tiny_imagenet(const std::string& dir, int threads = 1);

/// The synthetic dataset: `cfg.classes` classes of class-specific patterns plus noise, learnable
/// by a small network, identical on every call for the same `cfg` (it depends on nothing else).
DataSplits make_synthetic(const SyntheticConfig& cfg);

} // namespace sp
