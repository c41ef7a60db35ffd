#pragma once
/// Subsets of a split: the first n images, or a stratified random n, as sorted index lists.
///
///     std::vector<std::int64_t> idx = sp::select_stratified(d.train.labels, 10, 5000, seed);
///     sp::ImageSet small = sp::apply_subset(d.train, idx);   // 5000 images, original order
///
/// Randomness comes from SplitMixRng (util/rng.hpp), never from std:: distributions or
/// std::shuffle, whose outputs differ between standard libraries: the same seed gives the same
/// subset with any compiler, and any tool can recompute it (sweeps/README.md documents SplitMix64).

#include "sp/data/image_set.hpp"
#include "sp/util/rng.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sp {

/// Indices 0 .. n-1 of a split of `count` images. ConfigError ("<what>: n exceeds the count
/// images ...") if n > count or n < 0; `what` names the setting, e.g. "dataset.train_subset".
std::vector<std::int64_t> select_first(std::int64_t count, std::int64_t n,
                                       const std::string& what = "subset");

/// Per-class image counts for a stratified subset of n: proportional to the class sizes,
/// floor(n * size_c / total) each, the remaining images going one each to the classes with the
/// largest remainders (n * size_c mod total), ties to the lower class index. Never above a
/// class's size. Sizes 10/20/30, n = 12 give 2/4/6. ConfigError if n > total or n < 0.
std::vector<std::int64_t> stratified_counts(const std::vector<std::int64_t>& class_sizes,
                                            std::int64_t n, const std::string& what = "subset");

/// A stratified random n of the images whose classes are `labels` (values in [0, classes)):
/// stratified_counts per class, each class's images drawn by a partial Fisher-Yates shuffle of
/// its indices (ascending) with one SplitMixRng(seed), classes in index order. Returned sorted
/// ascending. ConfigError if n > labels.size() (naming `what`); DataError for a label outside
/// [0, classes).
std::vector<std::int64_t> select_stratified(const std::vector<std::int64_t>& labels,
                                            std::int64_t classes, std::int64_t n,
                                            std::uint64_t seed, const std::string& what = "subset");

/// The images `indices` of `set` (any order, repeats allowed), in the order given: a copy of
/// their pixels and labels. Throws InternalError for an index outside [0, set.count).
ImageSet apply_subset(const ImageSet& set, const std::vector<std::int64_t>& indices);

} // namespace sp
