#pragma once
/// Checking a dataset's files against checksums before they are trusted: the MD5 sums the
/// publishers give for their download archives, and a SHA256SUMS manifest kept beside the
/// extracted files (no per-file checksums are published for CIFAR-10's .bin files or Tiny
/// ImageNet's JPEGs, so that manifest is the user's own record, e.g. `sha256sum *.bin >
/// SHA256SUMS` right after extracting a verified archive).
///
///     std::string note = sp::verify_archive("cifar10", "cifar-10-binary.tar.gz", false);
///     std::string files = sp::verify_manifest("data/cifar-10-batches-bin", false);
///
/// A mismatch is a DataError (exit 2) naming the file, the expected and the found digest, unless
/// `allow_unverified` (sp_prepare --allow-unverified, for private or modified data): then it is
/// logged as a warning and the returned note says so, for the cache and the result files.

#include <string>

namespace sp {

/// A download archive whose checksum its publisher (or the loaders that use it) give.
struct PublishedArchive {
    const char* dataset;   ///< dataset.name
    const char* file_name; ///< the archive's name as published
    const char* md5;       ///< lower-case hex MD5 of the archive
    const char* source;    ///< where the value is published
};

/// The published archive of `dataset`, or nullptr when none is known (mnist, fashion-mnist,
/// synthetic).
const PublishedArchive* published_archive(const std::string& dataset);

/// The name of the manifest verify_manifest reads from a dataset directory.
inline constexpr const char* kManifestName = "SHA256SUMS";

/// Checks the archive at `path` against the published MD5 of `dataset`'s archive. Returns a
/// one-line note ("archive X: MD5 ... matches the value published at ..."). Throws ConfigError
/// when `dataset` has no published archive, IoError when the file cannot be read, DataError on a
/// mismatch unless `allow_unverified`.
std::string verify_archive(const std::string& dataset, const std::string& path,
                           bool allow_unverified);

/// Checks every file listed in `dir`/SHA256SUMS (lines "<64 hex>  <relative path>", as
/// sha256sum writes them; `*` before the path and blank lines allowed) against the SHA-256 of
/// its bytes. Returns "" when `dir` holds no SHA256SUMS, else a one-line note ("N files match
/// DIR/SHA256SUMS"). Throws DataError naming the manifest and line for a malformed line, and
/// naming the file, the expected and the found SHA-256 for a missing or different file (unless
/// `allow_unverified`).
std::string verify_manifest(const std::string& dir, bool allow_unverified);

} // namespace sp
