#pragma once
/// The decoded-dataset cache: a dataset's splits as one HDF5 file (results-schema/
/// dataset-cache.toml), read back in a fraction of the time decoding the source takes.
///
///     sp::DataSplits d = sp::read_cifar10("data/cifar-10-batches-bin");
///     std::string fp = sp::source_fingerprint("data/cifar-10-batches-bin", "cifar10.h5");
///     sp::write_cache(d, "cifar10.h5", /*deflate=*/0, fp);       // atomic: .tmp, then rename
///
///     sp::CacheInfo info = sp::read_cache_info("cifar10.h5");     // attributes only: cheap
///     if (info.source_fingerprint == sp::source_fingerprint(dir, "cifar10.h5")) { ... }
///     sp::DataSplits back = sp::read_cache("cifar10.h5", "cifar10");   // == d, bit for bit
///
/// Layout: root attributes file_kind = "dataset-cache", schema_version, sp_version,
/// git_revision, dataset, source, source_checksum, source_fingerprint, created, verification
/// (optional); /train/images
/// uint8 [N, C, H, W] and /train/labels int64 [N], the same under /eval, /class_names string [K].

#include "sp/data/image_set.hpp"

#include <cstdint>
#include <string>

namespace sp {

/// The cache layout version this sp writes and reads (root attribute schema_version).
inline constexpr int kCacheSchemaVersion = 1;

/// Images per HDF5 chunk of /train/images and /eval/images.
inline constexpr std::int64_t kCacheChunkImages = 256;

/// A cache file's root attributes.
struct CacheInfo {
    std::string path;               ///< the cache file
    std::string dataset;            ///< dataset name, "cifar10"
    std::string source;             ///< the directory the data was decoded from
    std::string source_checksum;    ///< SHA-256 hex of the source (provenance); may be ""
    std::string source_fingerprint; ///< source_fingerprint() at write time; may be ""
    /// What the source was checked against when the cache was made (DataSplits::verification);
    /// "" when nothing was, or the cache predates the attribute.
    std::string verification;
    std::string sp_version; ///< sp release that wrote the file
    std::string created;    ///< ISO-8601 UTC, "2024-05-01T12:00:00Z"
};

/// SHA-256 hex of the sorted lines "relative/path<TAB>size<TAB>mtime_ns" of every regular file
/// under `dir` (recursively, following symbolic links), except `exclude` (and `exclude`.tmp*) when
/// it lies inside `dir`: a cheap stand-in for a checksum of the contents, which changes when a
/// file is added, removed, resized or rewritten. Throws DataError if `dir` is not a directory.
std::string source_fingerprint(const std::string& dir, const std::string& exclude = "");

/// Writes `d` to `path` atomically (io::AtomicH5File: a complete file or none under `path`; an
/// existing file is replaced only on success). `deflate` 0-9 (0: stored uncompressed, fastest to
/// read); `source_fingerprint` is recorded for load_dataset's staleness check. Throws DataError if
/// `d` is inconsistent (pixel or label counts, labels outside [0, K), no classes), IoError if
/// the file cannot be written.
void write_cache(const DataSplits& d, const std::string& path, int deflate = 0,
                 const std::string& source_fingerprint = "");

/// Reads a cache file's root attributes, checking file_kind and schema_version. Throws IoError if
/// the file is missing or not HDF5, DataError naming the file and the attribute otherwise.
CacheInfo read_cache_info(const std::string& path);

/// Reads a whole cache, validating every object (dtype, rank, shapes agreeing between images,
/// labels and class names, labels in [0, K)) and that its dataset is `expected_name` (skipped
/// when empty). The result's `source` is `path`, its `checksum` the recorded source checksum,
/// its `verification` the recorded one.
/// Throws DataError naming the file and the HDF5 path on anything wrong; IoError if the file is
/// missing or unreadable.
DataSplits read_cache(const std::string& path, const std::string& expected_name = "");

} // namespace sp
