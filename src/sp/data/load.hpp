#pragma once
/// A dataset as a replicate sees it: read from its cache or its source, checked against what sp
/// knows about the dataset (config/dataset_facts.hpp), and cut to the configured subsets.
///
///     sp::DatasetConfig cfg;                       // fashion-mnist from its default location
///     cfg.cache = "data/fashion-mnist.h5";         // made by sp_prepare; used when current
///     cfg.train_subset = 5000;
///     cfg.subset = "stratified";
///     sp::DataSplits d = sp::load_dataset(cfg, replicate.seeds.pool, /*threads=*/4);
///
/// A cache is used when it holds the configured dataset and its recorded source fingerprint
/// (cache.hpp) matches the source directory's current one; when the source directory is absent
/// (a node with only the cache) it is used unchecked. Otherwise the source is read. Every choice
/// is logged (sp::log): "dataset cifar10: using cache data/c.h5 (...)", or why not.

#include "sp/config/experiment.hpp"
#include "sp/data/image_set.hpp"

#include <cstdint>
#include <string>

namespace sp {

/// The directory a dataset is read from: `cfg.root`, else the dataset's default (facts), else
/// "" (no default). ConfigError for an unknown dataset name.
std::string dataset_root(const DatasetConfig& cfg);

/// The checksum make_synthetic gives `cfg` (without generating anything): SHA-256 hex of the
/// text "sp synthetic v<generator version>\nclasses=K\ntrain_size=N\neval_size=M\n
/// image_size=S\nchannels=C\n". Synthetic caches record it as their fingerprint.
std::string synthetic_checksum(const SyntheticConfig& cfg);

/// The identity of a dataset's source as a cache records it: synthetic_checksum for
/// "synthetic", source_fingerprint(root, exclude) for the others. DataError if `root` is not a
/// directory (for the others).
std::string current_fingerprint(const std::string& name, const std::string& root,
                                const SyntheticConfig& synthetic, const std::string& exclude = "");

/// Decodes dataset `name` from `root` with its reader (fashion-mnist, mnist: read_idx_dataset;
/// cifar10: read_cifar10; tiny-imagenet: read_tiny_imagenet on `threads` threads; synthetic:
/// make_synthetic(synthetic), `root` ignored) and checks it with check_against_facts. When
/// `root` holds a SHA256SUMS manifest, every file it lists is checked first (verify_manifest;
/// the result's `verification` says what was checked). Throws ConfigError for an unknown name,
/// DataError for a missing root ("dataset cifar10: DIR: no such directory (set dataset.root)"),
/// a file that does not match the manifest (unless `allow_unverified`) or bad data, as the
/// readers do.
DataSplits read_source(const std::string& name, const std::string& root,
                       const SyntheticConfig& synthetic, int threads = 1,
                       bool allow_unverified = false);

/// Checks `d` against dataset_facts(name): channels, image side, class count, labels in
/// [0, classes), pixel and label counts. DataError naming `d.source` on a mismatch.
void check_against_facts(const DataSplits& d, const std::string& name,
                         const SyntheticConfig& synthetic);

/// The dataset of `cfg`: from cfg.cache when it is current (see above), else from the source
/// (read_source), checked with check_against_facts, then cut to cfg.train_subset / cfg.eval_subset
/// (0 = all) by cfg.subset. From a cache, the result's `cache_sha256` is the SHA-256 of the
/// cache file's bytes and `checksum` / `verification` are what the cache recorded; from the
/// source, they are computed now (read_source). Subsets are cut by "first" (the first n) or
/// "stratified" (select_stratified, seeded with mix_seed(pool_seed, 1) for training and
/// mix_seed(pool_seed, 2) for evaluation).
/// `threads` is for decoding JPEGs. Throws ConfigError (unknown name or subset, a subset larger
/// than its split, naming dataset.train_subset / dataset.eval_subset), DataError (missing or bad
/// data, a corrupt cache), IoError (an unreadable cache file).
DataSplits load_dataset(const DatasetConfig& cfg, std::uint64_t pool_seed, int threads = 1);

} // namespace sp
